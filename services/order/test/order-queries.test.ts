import { aUserId, anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('GET /orders and GET /orders/:id', () => {
  let stack: OrderStack;
  let productId: number;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'query' });
    productId = await stack.product.createProduct(1000, '1.00');
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function placeOrders(userId: string, sync: number, async: number): Promise<string[]> {
    const ids: string[] = [];
    // One at a time so creation order is the expected listing order.
    for (let i = 0; i < sync + async; i++) {
      const res = await stack.api.post(i < sync ? '/orders' : '/orders/async', anOrder(userId, [[productId, 1]]));
      expect(res.status).toBeLessThan(300);
      ids.push(res.body.id);
    }
    return ids;
  }

  async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let pages = 0;
    let next: string | null = `/orders?${query}&limit=${limit}`;
    while (next) {
      const res: { status: number; body: { items: Array<{ id: string }>; next_cursor: string | null } } = await stack.api.get(next);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.items.map((o) => o.id));
      pages++;
      next = res.body.next_cursor ? `/orders?${query}&limit=${limit}&cursor=${encodeURIComponent(res.body.next_cursor)}` : null;
    }
    return { ids, pages };
  }

  it('pages through one user’s orders newest first, each exactly once, following next_cursor', async () => {
    const userId = aUserId();
    const ids = await placeOrders(userId, 4, 3);
    await placeOrders(aUserId(), 2, 0); // someone else's

    const { ids: listed, pages } = await allPages(`user_id=${userId}`, 3);

    expect(listed).toEqual([...ids].reverse());
    expect(pages).toBe(3);
  });

  it('filters by user and status together', async () => {
    const userId = aUserId();
    const ids = await placeOrders(userId, 2, 3);

    const pending = await stack.api.get(`/orders?user_id=${userId}&status=pending`);
    const confirmed = await stack.api.get(`/orders?user_id=${userId}&status=confirmed`);
    const delivered = await stack.api.get(`/orders?user_id=${userId}&status=delivered`);

    expect(pending.body.items.map((o: { id: string }) => o.id)).toEqual(ids.slice(2).reverse());
    expect(confirmed.body.items.map((o: { id: string }) => o.id)).toEqual(ids.slice(0, 2).reverse());
    expect(delivered.body).toEqual({ items: [], next_cursor: null });
    expect(pending.body.items[0]).toMatchObject({ user_id: userId, status: 'pending', items: [{ product_id: productId, quantity: 1 }] });
  });

  it('gives a stable listing: orders placed while paging never shift or repeat earlier pages', async () => {
    const userId = aUserId();
    const ids = await placeOrders(userId, 0, 4);
    const first = await stack.api.get(`/orders?user_id=${userId}&limit=2`);
    await placeOrders(userId, 0, 2);

    const second = await stack.api.get(`/orders?user_id=${userId}&limit=2&cursor=${first.body.next_cursor}`);

    expect(first.body.items.map((o: { id: string }) => o.id)).toEqual([ids[3], ids[2]]);
    expect(second.body.items.map((o: { id: string }) => o.id)).toEqual([ids[1], ids[0]]);
    expect(second.body.next_cursor).toBeNull();
  });

  it('sends a Link header to the next page', async () => {
    const userId = aUserId();
    await placeOrders(userId, 0, 3);

    const res = await stack.api.get(`/orders?user_id=${userId}&limit=2`);

    expect(res.headers.get('link')).toBe(`</orders?user_id=${userId}&limit=2&cursor=${res.body.next_cursor}>; rel="next"`);
  });

  it.each([
    ['an unknown status', 'status=lost', 'status'],
    ['a limit of 0', 'limit=0', 'limit'],
    ['a limit over 100', 'limit=101', 'limit'],
    ['a non-numeric limit', 'limit=ten', 'limit'],
    ['a forged cursor', 'cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['a bad user_id', 'user_id=a%20b', 'user_id'],
    ['an unknown parameter', 'userId=1', 'userId'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    const res = await stack.api.get(`/orders?${query}`);

    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'validation_failed', field, location: 'query' });
  });

  it.each([
    ['a malformed id', '/orders/12345', 400],
    ['a non-UUID word', '/orders/async', 400],
    ['an unknown UUID', '/orders/01a2140b-3081-77f7-b8a5-c4f6d4137804', 404],
  ])('GET of %s answers %i with a problem, never 500', async (_case, path, status) => {
    const res = await stack.api.get(path);

    expect(res.status).toBe(status);
    expect(res.contentType).toContain('application/problem+json');
  });

  it('finds an order by id in upper case too', async () => {
    const [id] = await placeOrders(aUserId(), 1, 0);

    const res = await stack.api.get(`/orders/${id!.toUpperCase()}`);

    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
  });
});
