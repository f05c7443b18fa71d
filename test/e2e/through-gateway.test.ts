/**
 * The whole platform as a client sees it: requests go through the gateway to the real product and
 * order services and the order consumers, on the real MariaDB and Kafka, with bearer tokens of a local
 * issuer (an admin for the catalog and status changes, customers for their own orders).
 */
import { accessToken, ADMIN, identityHeaders } from '@eshop/test-support';
import { eventually } from '@eshop/test-support';
import type { RunningGateway } from '../../services/gateway/src/service';
import { ApiClient, mapConcurrent } from '@eshop/test-support';
import { OrderStack } from '../../services/order/test/support/order-stack';
import { startGatewayInFront } from '../support/gateway-in-front';

describe('the platform through the gateway', () => {
  let stack: OrderStack;
  let gateway: RunningGateway;
  /** The admin: catalog writes, any order, status changes. */
  let api: ApiClient;
  /** A customer as someone signs in: orders for themselves only. */
  const as = async (userId: string) => api.withAuth({ bearer: await accessToken(userId, 'customer') });

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'e2e', partitions: 6 });
    await stack.startConsumer();
    await stack.startConsumer();
    // Over a thousand orders from one address and one user: the limits have their own tests.
    gateway = await startGatewayInFront(stack, { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_IDENTITY: '0' });
    api = new ApiClient(`http://127.0.0.1:${gateway.port}`, { bearer: await accessToken('admin', 'admin') });
  });

  afterAll(async () => {
    await gateway?.stop();
    await stack?.close();
  });

  async function stockOf(id: number): Promise<number> {
    return (await api.get(`/products/${id}`)).body.stock as number;
  }

  it("answers the seed's API examples request for request", async () => {
    const created = await api.post('/products', { name: 'Laptop', description: 'A powerful laptop', price: 999.99, stock: 10 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Laptop', description: 'A powerful laptop', price: '999.99', stock: 10 });
    const id = created.body.id as number;
    expect(created.headers.get('location')).toBe(`/products/${id}`);

    const listed = await api.get('/products');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((p: { id: number }) => p.id)).toContain(id);

    expect((await api.get(`/products/${id}`)).body).toMatchObject({ id, name: 'Laptop', stock: 10 });

    const updated = await api.put(`/products/${id}`, { name: 'Laptop Pro', description: 'Even more powerful', price: 1299.99, stock: 8 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Laptop Pro', price: '1299.99', stock: 8 });

    const customer = await as('1');
    const order = await customer.post('/orders', { user_id: 1, items: [{ product_id: id, quantity: 2 }] });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({ status: 'confirmed', total: '2599.98', user_id: '1' });
    expect(await stockOf(id)).toBe(6);

    const asyncOrder = await customer.post('/orders/async', { user_id: 1, items: [{ product_id: id, quantity: 1 }] });
    expect(asyncOrder.status).toBe(202);
    expect(asyncOrder.headers.get('location')).toBe(`/orders/${asyncOrder.body.id}`);
    await eventually(async () => expect((await customer.get(`/orders/${asyncOrder.body.id}`)).body.status).toBe('confirmed'), 30000);
    expect(await stockOf(id)).toBe(5);

    const fetched = await customer.get(`/orders/${order.body.id}`);
    expect(fetched.body).toMatchObject({ id: order.body.id, status: 'confirmed', items: [{ product_id: id, quantity: 2, unit_price: '1299.99' }] });

    const mine = await customer.get('/orders?user_id=1');
    expect(mine.body.items.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining([order.body.id, asyncOrder.body.id]));

    const paid = await api.put(`/orders/${order.body.id}/status`, { status: 'paid' });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('paid');

    expect((await api.request('DELETE', `/products/${id}`)).status).toBe(204);
    expect((await api.get(`/products/${id}`)).status).toBe(404);
    expect((await api.get(`/orders/${order.body.id}`)).body.items[0]).toMatchObject({ name: 'Laptop Pro', unit_price: '1299.99' });
  });

  it('carries a request id end to end and keeps internal routes private', async () => {
    const res = await api.get('/products?limit=1', { 'X-Request-Id': 'e2e-trace-1' });
    expect(res.headers.get('x-request-id')).toBe('e2e-trace-1');
    const internal = await api.post('/internal/reservations', { order_id: 'x', items: [{ product_id: 1, quantity: 1 }] });
    expect(internal.status).toBe(404);
    expect(internal.contentType).toContain('application/problem+json');
  });

  it('asks for a token where one is needed, keeps customers to their own orders, and drops an identity header a client sends', async () => {
    const anonymous = api.withAuth({});
    const refused = await anonymous.post('/orders', { user_id: '1', items: [{ product_id: 1, quantity: 1 }] });
    expect(refused.status).toBe(401);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await anonymous.get('/products?limit=1')).status).toBe(200);

    const productId = await stack.product.createProduct(5, '1.00');
    const alices = await (await as('alice')).post('/orders', { user_id: 'alice', items: [{ product_id: productId, quantity: 1 }] });
    expect(alices.status).toBe(201);
    const bob = await as('bob');
    expect((await bob.get(`/orders/${alices.body.id}`)).status).toBe(403);
    expect((await bob.post('/orders', { user_id: 'alice', items: [{ product_id: productId, quantity: 1 }] })).status).toBe(403);
    expect((await bob.post('/products', { name: 'Mine now', description: 'no', price: '1.00', stock: 1 })).status).toBe(403);

    // Even a correctly signed X-Eshop-Identity is the gateway's to set: from a client it is removed, so this is anonymous.
    const forged = await anonymous.post('/products', { name: 'Forged', description: 'no', price: '1.00', stock: 1 }, await identityHeaders(ADMIN));
    expect(forged.status).toBe(401);
  });

  it('when 200 sync orders race for 50 units, exactly 50 are confirmed and the rest get 409, never a 5xx', async () => {
    const productId = await stack.product.createProduct(50, '19.99');
    const statuses = await mapConcurrent([...Array(200).keys()], 50, async (i) => {
      const res = await (await as(`racer-${i}`)).post('/orders', { user_id: `racer-${i}`, items: [{ product_id: productId, quantity: 1 }] });
      return res.status;
    });
    const count = (s: number) => statuses.filter((x) => x === s).length;
    expect(count(201)).toBe(50);
    expect(count(409)).toBe(150);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(await stockOf(productId)).toBe(0);
  });

  it('when 1,000 async orders compete for 300 units, every order ends confirmed or rejected and exactly 300 are confirmed', async () => {
    const productId = await stack.product.createProduct(300, '2.50');
    const user = `async-e2e-${Date.now()}`;
    const customer = await as(user);
    const accepted = await mapConcurrent([...Array(1000).keys()], 50, async () => {
      const res = await customer.post('/orders/async', { user_id: user, items: [{ product_id: productId, quantity: 1 }] });
      expect(res.status).toBe(202);
      return res.body.id as string;
    });
    expect(new Set(accepted).size).toBe(1000);

    await eventually(
      async () => {
        const statuses = await stack.statusesOf(accepted);
        const pending = [...statuses.values()].filter((s) => s === 'pending').length;
        expect(pending).toBe(0);
      },
      180_000,
      500,
    );
    const statuses = [...(await stack.statusesOf(accepted)).values()];
    expect(statuses.filter((s) => s === 'confirmed')).toHaveLength(300);
    expect(statuses.filter((s) => s === 'rejected')).toHaveLength(700);
    expect(await stockOf(productId)).toBe(0);
  }, 240_000);
});
