/**
 * The tokens the k6 scripts send (common.ts): minted with k6/crypto from the local issuer's key on kind, or a
 * passed-in ACCESS_TOKEN. Checked with jose under the gateway's rules (issuer, audience, HS256), against the
 * stub's k6/crypto and k6/encoding, which compute what k6 computes.
 */
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { USER_ID_PATTERN } from '@eshop/common';

type Common = typeof import('../common');

const SECRET = 'k6-test-local-issuer-key-0123456789abcdefgh';
const key = new TextEncoder().encode(SECRET);

function load(env: Record<string, string>): Common {
  (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
  let mod: Common | undefined;
  jest.isolateModules(() => {
    mod = require(path.resolve(__dirname, '..', 'common.ts')) as Common;
  });
  return mod!;
}

const bearer = (c: { headers: { Authorization?: string } }) => (c.headers.Authorization ?? '').replace(/^Bearer /, '');

describe('k6 access tokens', () => {
  it('with the local issuer key (kind): a fresh customer per order, whose token the gateway accepts and whose user id the order carries', async () => {
    const common = load({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'eshop-local', AUTH_JWT_AUDIENCE: 'eshop-api', TEST_ID: 'exp.2026-11-25' });
    const a = common.customer();
    const b = common.customer();
    expect(a.userId).not.toBe(b.userId);
    expect(a.userId).toMatch(USER_ID_PATTERN);
    const { payload, protectedHeader } = await jwtVerify(bearer(a), key, { issuer: 'eshop-local', audience: 'eshop-api', algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: a.userId, roles: ['customer'] });
    expect(payload.exp! - payload.iat!).toBe(common.TOKEN_TTL_SECONDS);
    const order = common.customerOrder(7, 'POST /orders');
    expect(JSON.parse(order.body)).toEqual({ user_id: expect.stringMatching(/^k6-exp-2026-11-25-\d+$/), items: [{ product_id: 7, quantity: 1 }] });
    expect(order.params.headers).toMatchObject({ 'Content-Type': 'application/json', Authorization: expect.stringMatching(/^Bearer /) });
    expect((await jwtVerify(bearer(order.params), key, { issuer: 'eshop-local', audience: 'eshop-api' })).payload.sub).toBe(JSON.parse(order.body).user_id);
  });

  it('seeds products as an admin of the local issuer', async () => {
    const { payload } = await jwtVerify(bearer(load({ AUTH_JWT_SECRET: SECRET }).admin()), key, { issuer: 'eshop-local', audience: 'eshop-api' });
    expect(payload.roles).toEqual(['admin']);
  });

  it('with a passed-in admin ACCESS_TOKEN (identity provider): sends it on every request and orders for any user id', async () => {
    const token = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('ops').setExpirationTime('1h').sign(key);
    const common = load({ ACCESS_TOKEN: token });
    const c = common.customer();
    expect(bearer(c)).toBe(token);
    expect(c.userId).toMatch(/^k6-local-\d+$/);
    expect(bearer(common.admin())).toBe(token);
  });

  it('with a passed-in customer token (claim named by AUTH_ROLES_CLAIM): orders as that customer, and refuses to seed', async () => {
    const token = await new SignJWT({ 'cognito:groups': ['customer'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('u-17').sign(key);
    const common = load({ ACCESS_TOKEN: token, AUTH_ROLES_CLAIM: 'cognito:groups' });
    expect(common.customer().userId).toBe('u-17');
    expect(() => common.admin()).toThrow(/ACCESS_TOKEN carries no admin role in claim cognito:groups/);
  });

  it('without a key or a token, says which variables to set', () => {
    expect(() => load({}).customer()).toThrow(/set AUTH_JWT_SECRET .* or ACCESS_TOKEN/);
  });
});
