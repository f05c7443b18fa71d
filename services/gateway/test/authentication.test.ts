/**
 * Authentication at the gateway: bearer JWTs from a local HS256 issuer and from a JWKS endpoint, the 401s
 * a client gets for every kind of bad token, and what reaches the services (a gateway-signed identity).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyIdentity } from '@eshop/common';
import { accessToken, TEST_AUTH } from '@eshop/test-support';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { metricValue, send, startTestGateway, type TestGateway } from './support/gateway';
import { startEchoUpstream, type TestServer } from './support/upstreams';

type Echo = TestServer & { setReady(ready: boolean): void };

/** A token signed like the test issuer's, with any claim or key changed. */
function token(claims: { iss?: string; aud?: string; sub?: string; exp?: number; roles?: unknown }, secret: string = TEST_AUTH.jwtSecret, alg = 'HS256') {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: claims.roles ?? ['customer'] })
    .setProtectedHeader({ alg })
    .setIssuer(claims.iss ?? TEST_AUTH.issuer)
    .setAudience(claims.aud ?? TEST_AUTH.audience)
    .setSubject(claims.sub ?? 'c-1')
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(new TextEncoder().encode(secret));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('gateway authentication with a local issuer (AUTH_JWT_SECRET)', () => {
  let product: Echo;
  let order: Echo;
  let gw: TestGateway;

  beforeAll(async () => {
    [product, order] = await Promise.all([startEchoUpstream('product'), startEchoUpstream('order')]);
    gw = await startTestGateway({ PRODUCT_SERVICE_URL: product.url, ORDER_SERVICE_URL: order.url });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([product.close(), order.close()]);
  });

  it('lets anyone browse the catalogue, and the product service sees no identity', async () => {
    const res = await send(`${gw.url}/products/1`, { anonymous: true });

    expect(res.status).toBe(200);
    expect(res.json.headers['x-eshop-identity']).toBeUndefined();
  });

  it.each([
    ['POST', '/products'],
    ['PUT', '/products/1'],
    ['DELETE', '/products/1'],
    ['POST', '/orders'],
    ['POST', '/orders/async'],
    ['GET', '/orders?user_id=42'],
    ['GET', '/orders/0b0c8f9e-3f54-4c1e-9a51-6a3c2f0d4e11'],
    ['PUT', '/orders/0b0c8f9e-3f54-4c1e-9a51-6a3c2f0d4e11/status'],
  ])('answers an anonymous %s %s with 401 and a Bearer challenge, without bothering the service', async (method, path) => {
    const before = product.received.length + order.received.length;
    const res = await send(`${gw.url}${path}`, { method, anonymous: true, body: method === 'GET' || method === 'DELETE' ? undefined : '{}', headers: { 'content-type': 'application/json' } });

    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="eshop"');
    expect(res.json).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(product.received.length + order.received.length).toBe(before);
  });

  it('forwards a signed-in customer as a gateway-signed identity', async () => {
    const res = await send(`${gw.url}/orders?user_id=c-1`, { headers: { authorization: `Bearer ${await accessToken('c-1', 'customer')}` } });

    expect(res.status).toBe(200);
    await expect(verifyIdentity(res.json.headers['x-eshop-identity'], TEST_AUTH.identitySecret)).resolves.toEqual({ userId: 'c-1', roles: ['customer'] });
  });

  it('reads roles from a space-separated claim and drops roles the platform does not know', async () => {
    const res = await send(`${gw.url}/orders`, { headers: { authorization: `Bearer ${await token({ roles: 'customer auditor superuser' })}` } });

    await expect(verifyIdentity(res.json.headers['x-eshop-identity'], TEST_AUTH.identitySecret)).resolves.toEqual({ userId: 'c-1', roles: ['customer'] });
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Promise<string>, string]>([
    ['expired', () => token({ exp: now() - 120 }), 'expired'],
    ['from another issuer', () => token({ iss: 'https://evil.example' }), 'invalid'],
    ['for another audience', () => token({ aud: 'another-api' }), 'invalid'],
    ['signed with another key', () => token({}, 'another-secret-of-at-least-32-characters!!'), 'invalid'],
    ['with an algorithm outside the allow-list (HS512)', () => token({}, TEST_AUTH.jwtSecret, 'HS512'), 'invalid'],
    ['unsigned (alg none)', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: TEST_AUTH.issuer, aud: TEST_AUTH.audience, sub: 'admin', roles: ['admin'], exp: now() + 600 })}.`, 'malformed'],
    ['with a subject that is not a user id', () => token({ sub: "x' OR 1=1 --" }), 'invalid'],
    ['without a subject', async () => (await token({})).replace(/^([^.]+)\.([^.]+)/, (_m, h: string) => `${h}.${b64({ iss: TEST_AUTH.issuer, aud: TEST_AUTH.audience, exp: now() + 600 })}`), 'invalid'],
  ])('refuses a token %s with 401 invalid_token, also on public routes', async (_case, make, reason) => {
    const bearer = `Bearer ${await make()}`;
    for (const [method, path] of [['GET', '/products'], ['POST', '/orders']] as const) {
      const res = await send(`${gw.url}${path}`, { method, headers: { authorization: bearer, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ status: 401, reason });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="eshop", error="invalid_token"/);
    }
  });

  it.each(['Basic YWRtaW46YWRtaW4=', 'Bearer', 'Bearer not-a-jwt', 'Bearer a.b.c.d'])('refuses Authorization %j as malformed', async (authorization) => {
    const res = await send(`${gw.url}/orders`, { headers: { authorization } });

    expect(res.status).toBe(401);
    expect(res.json.reason).toBe('malformed');
  });

  it('counts the 401s by reason', async () => {
    const metrics = (await send(`${gw.url}/metrics`, { anonymous: true })).body;

    expect(metricValue(metrics, 'gateway_auth_failures_total', { reason: 'missing' })).toBeGreaterThanOrEqual(8);
    expect(metricValue(metrics, 'gateway_auth_failures_total', { reason: 'expired' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'gateway_auth_failures_total', { reason: 'malformed' })).toBeGreaterThanOrEqual(4);
  });

  it('sends security headers with its own answers and with the services\'', async () => {
    for (const path of ['/products/1', '/nowhere']) {
      const res = await send(`${gw.url}${path}`, { anonymous: true });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    }
    expect((await send(`${gw.url}/nowhere`, { anonymous: true })).headers['x-powered-by']).toBeUndefined();
  });
});

describe('gateway authentication with an identity provider\'s JWKS (AUTH_JWKS_URL)', () => {
  let jwks: http.Server;
  let jwksUrl: string;
  let jwksUp = true;
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  let order: Echo;
  let gw: TestGateway;

  const rs256 = (claims: { sub?: string; kid?: string } = {}, key: CryptoKey = privateKey) =>
    new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: claims.kid ?? 'k1' })
      .setIssuer('https://idp.example')
      .setAudience('eshop-api')
      .setSubject(claims.sub ?? 'ops-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      if (!jwksUp) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    order = await startEchoUpstream('order');
    gw = await startTestGateway({ AUTH_JWT_SECRET: '', AUTH_JWKS_URL: jwksUrl, AUTH_JWT_ISSUER: 'https://idp.example', PRODUCT_SERVICE_URL: order.url, ORDER_SERVICE_URL: order.url });
  });

  afterAll(async () => {
    await gw?.stop();
    await order?.close();
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('accepts an RS256 token signed with a key the JWKS publishes', async () => {
    const res = await send(`${gw.url}/orders`, { headers: { authorization: `Bearer ${await rs256()}` } });

    expect(res.status).toBe(200);
    await expect(verifyIdentity(res.json.headers['x-eshop-identity'], TEST_AUTH.identitySecret)).resolves.toEqual({ userId: 'ops-1', roles: ['admin'] });
  });

  it('refuses a token signed by a key the JWKS does not publish', async () => {
    const stranger = await generateKeyPair('RS256');
    const res = await send(`${gw.url}/orders`, { headers: { authorization: `Bearer ${await rs256({ kid: 'k1' }, stranger.privateKey)}` } });

    expect(res.status).toBe(401);
  });

  it('refuses an HS256 token "signed" with the public key (algorithm confusion)', async () => {
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('https://idp.example')
      .setAudience('eshop-api')
      .setSubject('attacker')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    const res = await send(`${gw.url}/orders`, { headers: { authorization: `Bearer ${forged}` } });

    expect(res.status).toBe(401);
  });

  it('answers 503 with Retry-After, not 401, while the key set cannot be fetched, and recovers', async () => {
    jwksUp = false;
    const fresh = await startTestGateway({ AUTH_JWT_SECRET: '', AUTH_JWKS_URL: jwksUrl, AUTH_JWT_ISSUER: 'https://idp.example', PRODUCT_SERVICE_URL: order.url, ORDER_SERVICE_URL: order.url });
    try {
      const bearer = `Bearer ${await rs256()}`;
      const res = await send(`${fresh.url}/orders`, { headers: { authorization: bearer } });
      expect(res.status).toBe(503);
      expect(res.json.code).toBe('auth_unavailable');
      expect(res.headers['retry-after']).toBe('5');

      jwksUp = true;
      expect((await send(`${fresh.url}/orders`, { headers: { authorization: bearer } })).status).toBe(200);
    } finally {
      jwksUp = true;
      await fresh.stop();
    }
  });
});
