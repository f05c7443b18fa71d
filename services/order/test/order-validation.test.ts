import { OrderStack } from './support/order-stack';

describe('request validation of POST /orders and POST /orders/async', () => {
  let stack: OrderStack;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'valid' });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const item = (product_id: unknown = 1, quantity: unknown = 1) => ({ product_id, quantity });
  const body = (overrides: Record<string, unknown> = {}) => ({ user_id: 'u-1', items: [item()], ...overrides });

  const cases: Array<[string, unknown, string]> = [
    ['no user_id', { items: [item()] }, 'user_id'],
    ['a user_id with spaces', body({ user_id: 'a b' }), 'user_id'],
    ['a user_id of 65 characters', body({ user_id: 'x'.repeat(65) }), 'user_id'],
    ['a negative numeric user_id', body({ user_id: -3 }), 'user_id'],
    ['a fractional user_id', body({ user_id: 1.5 }), 'user_id'],
    ['no items', { user_id: 'u-1' }, 'items'],
    ['an empty items list', body({ items: [] }), 'items'],
    ['101 items', body({ items: Array.from({ length: 101 }, (_, i) => item(i + 1)) }), 'items'],
    ['items that is not a list', body({ items: { product_id: 1 } }), 'items'],
    ['a quantity of 0', body({ items: [item(1, 0)] }), 'items[0].quantity'],
    ['a quantity over 10000', body({ items: [item(1, 10_001)] }), 'items[0].quantity'],
    ['a fractional quantity', body({ items: [item(1, 1.5)] }), 'items[0].quantity'],
    ['a quantity as a string', body({ items: [item(1, '2')] }), 'items[0].quantity'],
    ['a product_id of 0', body({ items: [item(0)] }), 'items[0].product_id'],
    ['a product_id that is not a number', body({ items: [item('abc')] }), 'items[0].product_id'],
    ['a duplicate product_id', body({ items: [item(7), item(8), item(7, 2)] }), 'items[2].product_id'],
    ['an unknown field', body({ coupon: 'FREE' }), 'coupon'],
    ['an unknown field in an item', body({ items: [{ ...item(), price: '0.01' }] }), 'items[0].price'],
  ];

  describe.each(['/orders', '/orders/async'])('%s', (path) => {
    it.each(cases)('answers 400 naming the field for %s', async (_case, payload, field) => {
      const res = await stack.api.post(path, payload);

      expect(res.status).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'validation_failed', field, status: 400 });
    });

    it('answers 400 malformed_json for broken JSON and 415 for another media type', async () => {
      const broken = await stack.api.request('POST', path, { raw: '{"user_id":', headers: { 'content-type': 'application/json' } });
      const text = await stack.api.request('POST', path, { raw: 'user_id=1', headers: { 'content-type': 'text/plain' } });

      expect(broken.status).toBe(400);
      expect(broken.body).toMatchObject({ code: 'malformed_json' });
      expect(text.status).toBe(415);
    });
  });

  it('writes nothing for a refused request', async () => {
    const [row] = await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders');
    expect(Number(row?.n)).toBe(0);
  });
});
