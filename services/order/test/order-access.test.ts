/**
 * Who may do what with orders, at the order service itself: customers only with their own orders, admins
 * with all of them, and nobody on the strength of an identity the gateway did not sign.
 */
import { ADMIN, customer, TEST_AUTH } from '@eshop/test-support';
import { IDENTITY_HEADER, signIdentity } from '@eshop/common';
import { SignJWT } from 'jose';
import { anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('order access: customers own their orders, admins run the shop', () => {
  let stack: OrderStack;
  let productId: number;
  const alice = () => stack.api.withAuth({ as: customer('alice') });
  const bob = () => stack.api.withAuth({ as: customer('bob') });
  const anonymous = () => stack.api.withAuth({});

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'access' });
    productId = await stack.product.createProduct(100, '2.50');
  });

  afterAll(async () => {
    await stack?.close();
  });

  const count = async () => Number((await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders'))[0]!.n);

  it('lets a customer place sync and async orders for themselves', async () => {
    expect((await alice().post('/orders', anOrder('alice', [[productId, 1]]))).status).toBe(201);
    expect((await alice().post('/orders/async', anOrder('alice', [[productId, 1]]))).status).toBe(202);
  });

  it.each(['/orders', '/orders/async'])('refuses %s for somebody else with 403 naming user_id, and writes nothing', async (path) => {
    const before = await count();
    const res = await alice().post(path, anOrder('bob', [[productId, 1]]));

    expect(res.status).toBe(403);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'forbidden', field: 'user_id' });
    expect(await count()).toBe(before);
  });

  it('answers 401 with a Bearer challenge to a caller without identity, for every order route', async () => {
    const placed = (await alice().post('/orders', anOrder('alice', [[productId, 1]]))).body.id as string;
    const attempts = [
      anonymous().post('/orders', anOrder('alice', [[productId, 1]])),
      anonymous().post('/orders/async', anOrder('alice', [[productId, 1]])),
      anonymous().get('/orders?user_id=alice'),
      anonymous().get(`/orders/${placed}`),
      anonymous().put(`/orders/${placed}/status`, { status: 'cancelled' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthenticated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="eshop"');
    }
  });

  it('refuses a forged identity header (not signed by the gateway) with 401, even for an admin claim', async () => {
    const forgedWithAnotherKey = await signIdentity(ADMIN, 'not-the-gateway-secret-but-long-enough-0123456789');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'admin', roles: ['admin'] })).toString('base64url')}.`;
    for (const header of [forgedWithAnotherKey, unsigned, 'admin', '{"userId":"admin","roles":["admin"]}']) {
      const res = await anonymous().get('/orders', { [IDENTITY_HEADER]: header });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_identity');
    }
  });

  it('refuses an identity the gateway signed long ago (a replayed header)', async () => {
    // Exactly what the gateway signs, ten minutes ago.
    const now = Math.floor(Date.now() / 1000);
    const stale = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('api-gateway')
      .setAudience('eshop-internal')
      .setSubject('admin')
      .setIssuedAt(now - 600)
      .setExpirationTime(now - 540)
      .sign(new TextEncoder().encode(TEST_AUTH.identitySecret));
    const res = await anonymous().get('/orders', { [IDENTITY_HEADER]: stale });
    expect(res.status).toBe(401);
  });

  it('shows a customer their own orders and refuses anybody else\'s', async () => {
    const mine = (await alice().post('/orders', anOrder('alice', [[productId, 1]]))).body.id as string;
    const theirs = (await bob().post('/orders', anOrder('bob', [[productId, 1]]))).body.id as string;

    expect((await alice().get(`/orders/${mine}`)).status).toBe(200);
    const denied = await alice().get(`/orders/${theirs}`);
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('forbidden');
    expect((await stack.api.get(`/orders/${theirs}`)).status).toBe(200); // the admin
  });

  it('lists a customer\'s own orders when user_id is omitted or their own, and refuses another user_id', async () => {
    const implicit = await alice().get('/orders?limit=100');
    expect(implicit.status).toBe(200);
    expect(implicit.body.items.length).toBeGreaterThan(0);
    expect(implicit.body.items.every((o: { user_id: string }) => o.user_id === 'alice')).toBe(true);
    expect((await alice().get('/orders?user_id=alice&limit=100')).body.items).toEqual(implicit.body.items);

    const other = await alice().get('/orders?user_id=bob');
    expect(other.status).toBe(403);
    expect(other.body.field).toBe('user_id');

    const everyone = await stack.api.get('/orders?limit=100');
    expect(new Set(everyone.body.items.map((o: { user_id: string }) => o.user_id))).toEqual(new Set(['alice', 'bob']));
  });

  it('lets a customer cancel their own order but change nothing else, and nobody else\'s', async () => {
    const mine = (await alice().post('/orders', anOrder('alice', [[productId, 1]]))).body.id as string;
    const theirs = (await bob().post('/orders', anOrder('bob', [[productId, 1]]))).body.id as string;

    const paid = await alice().put(`/orders/${mine}/status`, { status: 'paid' });
    expect(paid.status).toBe(403);
    expect((await alice().put(`/orders/${theirs}/status`, { status: 'cancelled' })).status).toBe(403);
    expect((await stack.api.get(`/orders/${theirs}`)).body.status).toBe('confirmed');

    const cancelled = await alice().put(`/orders/${mine}/status`, { status: 'cancelled', reason: 'changed my mind' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    // The admin runs the rest of the lifecycle.
    expect((await stack.api.put(`/orders/${theirs}/status`, { status: 'paid' })).status).toBe(200);
  });

  it('refuses a signed-in caller with no platform role with 403', async () => {
    const res = await stack.api.withAuth({ as: { userId: 'alice', roles: [] } }).get('/orders');
    expect(res.status).toBe(403);
  });
});
