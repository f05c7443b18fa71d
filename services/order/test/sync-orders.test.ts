import { eventually, MessageCollector } from '@eshop/test-support';
import { aUserId, anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('sync orders: POST /orders reserves stock, then records the order confirmed', () => {
  let stack: OrderStack;
  let events: MessageCollector;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'sync' });
    events = await new MessageCollector(stack.topic).start();
  });

  afterAll(async () => {
    await events?.stop();
    await stack?.close();
  });

  it('when 200 orders of 1 unit race for 50 in stock, exactly 50 are confirmed, 150 get 409 and stock ends at 0', async () => {
    const productId = await stack.product.createProduct(50, '4.99');

    const results = await Promise.all(Array.from({ length: 200 }, () => stack.api.post('/orders', anOrder(aUserId(), [[productId, 1]]))));

    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(150);
    expect(statuses.filter((s) => s >= 500)).toHaveLength(0);
    for (const refused of results.filter((r) => r.status === 409)) {
      expect(refused.body).toMatchObject({ code: 'insufficient_stock', field: 'items[0].product_id', product_id: productId, available: 0 });
    }
    expect(await stack.product.stockOf(productId)).toBe(0);
    const confirmedIds = results.filter((r) => r.status === 201).map((r) => r.body.id as string);
    expect(new Set(confirmedIds).size).toBe(50);
    const [row] = await stack.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ? AND o.status = 'confirmed'`,
      [productId],
    );
    expect(Number(row?.n)).toBe(50);
    expect((await stack.product.reservationsOf(productId)).reserved.sort()).toEqual([...confirmedIds].sort());
  });

  it('answers 201 with Location and the order priced exactly from decimal unit prices (3 × 19.99 = 59.97)', async () => {
    const widget = await stack.product.createProduct(10, '19.99');
    const dime = await stack.product.createProduct(10, '0.10');
    const twenty = await stack.product.createProduct(10, '0.20');
    const userId = aUserId();

    const res = await stack.api.post('/orders', anOrder(userId, [[widget, 3], [dime, 1], [twenty, 1]]));

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/orders/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      user_id: userId,
      status: 'confirmed',
      mode: 'sync',
      reason: null,
      total: '60.27',
      items: [
        { product_id: widget, quantity: 3, name: expect.any(String), unit_price: '19.99', line_total: '59.97' },
        { product_id: dime, quantity: 1, name: expect.any(String), unit_price: '0.10', line_total: '0.10' },
        { product_id: twenty, quantity: 1, name: expect.any(String), unit_price: '0.20', line_total: '0.20' },
      ],
      version: 1,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect((await stack.api.get(`/orders/${res.body.id}`)).body).toEqual(res.body);
    const [row] = await stack.db.query<{ total: string }>('SELECT total FROM orders WHERE id = ?', [res.body.id]);
    expect(row?.total).toBe('60.27');
  });

  it('accepts a numeric user_id (seed data) and stores it as a string', async () => {
    const productId = await stack.product.createProduct(5);

    const res = await stack.api.post('/orders', { user_id: 42, items: [{ product_id: productId, quantity: 1 }] });

    expect(res.status).toBe(201);
    expect(res.body.user_id).toBe('42');
  });

  it('publishes order.confirmed with mode sync, keyed by the order id', async () => {
    const productId = await stack.product.createProduct(5, '2.50');

    const res = await stack.api.post('/orders', anOrder(aUserId(), [[productId, 2]]));

    expect(res.status).toBe(201);
    const event = await eventually(() => {
      const found = events.messages.find((m) => m.key === res.body.id);
      if (!found) throw new Error('no event yet');
      return found;
    });
    expect(event.headers['event-type']).toBe('order.confirmed');
    expect(event.value).toMatchObject({
      type: 'order.confirmed',
      version: 1,
      data: { order_id: res.body.id, mode: 'sync', status: 'confirmed', previous_status: null, total: '5.00' },
    });
  });

  it('answers 422 product_unavailable naming the line when a product is unknown or deleted, and reserves nothing', async () => {
    const kept = await stack.product.createProduct(5);
    const deleted = await stack.product.createProduct(5);
    await stack.product.deleteProduct(deleted);

    const unknown = await stack.api.post('/orders', anOrder(aUserId(), [[kept, 1], [999999, 1]]));
    const gone = await stack.api.post('/orders', anOrder(aUserId(), [[kept, 1], [deleted, 1]]));

    for (const res of [unknown, gone]) {
      expect(res.status).toBe(422);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'product_unavailable', field: 'items[1].product_id' });
    }
    expect(await stack.product.stockOf(kept)).toBe(5);
  });

  it('when recording the order fails after reserving, the reservation is released (compensation)', async () => {
    const productId = await stack.product.createProduct(5);
    const before = await stack.countByStatus();
    await stack.db.query('RENAME TABLE order_items TO order_items_away');
    let res;
    try {
      res = await stack.api.post('/orders', anOrder(aUserId(), [[productId, 2]]));
    } finally {
      await stack.db.query('RENAME TABLE order_items_away TO order_items');
    }

    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'internal_error' });
    expect(await stack.countByStatus()).toEqual(before);
    await eventually(async () => expect(await stack.product.stockOf(productId)).toBe(5));
    const reservations = await stack.product.reservationsOf(productId);
    expect(reservations.reserved).toHaveLength(0);
    expect(reservations.released).toHaveLength(1);
    const metrics = await (await fetch(`${stack.api.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^order_compensation_failures_total\{[^}]*\} 0$/m);
    expect(metrics).toMatch(/^orders_total\{[^}]*mode="sync",outcome="failed"[^}]*\} 1$/m);
  });
});
