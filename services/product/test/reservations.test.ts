import { ADMIN, ApiClient } from '@eshop/test-support';
import { anOrderId, aProduct, aReservation } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

describe('stock reservations (internal inventory API)', () => {
  let app: TestProductService;
  let api: ApiClient;

  beforeAll(async () => {
    app = await startTestService({ name: 'reserve' });
    api = new ApiClient(app.url, { as: ADMIN });
  });

  afterAll(async () => {
    await app?.close();
  });

  async function productWithStock(stock: number, price = '19.99'): Promise<number> {
    const res = await api.post('/products', aProduct({ stock, price }));
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function stockOf(id: number): Promise<number> {
    const [row] = await app.db.query<{ stock: number }>('SELECT stock FROM products WHERE id = ?', [id]);
    return Number(row?.stock);
  }

  const reserve = (orderId: string, items: Array<[number, number]>) => api.post('/internal/reservations', aReservation(orderId, items));
  const release = (orderId: string) => api.post(`/internal/reservations/${orderId}/release`);

  it('reserves stock, captures name and unit price, and answers 201 with the reservation', async () => {
    const id = await productWithStock(5, '7.25');
    const orderId = anOrderId();

    const res = await reserve(orderId, [[id, 2]]);

    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/internal/reservations/${orderId}`);
    expect(res.body).toEqual({
      order_id: orderId,
      status: 'reserved',
      items: [{ product_id: id, name: expect.stringMatching(/^Widget/), quantity: 2, unit_price: '7.25' }],
      created_at: expect.any(String),
      released_at: null,
    });
    expect(await stockOf(id)).toBe(3);
    expect((await api.get(`/internal/reservations/${orderId}`)).body).toEqual(res.body);
  });

  it('when 50 reservations of 1 unit race for 10 in stock, exactly 10 succeed and stock ends at 0', async () => {
    const id = await productWithStock(10);

    const results = await Promise.all(Array.from({ length: 50 }, () => reserve(anOrderId(), [[id, 1]])));

    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    for (const refused of results.filter((r) => r.status === 409)) {
      expect(refused.body).toMatchObject({ code: 'insufficient_stock', product_id: id, requested: 1, available: 0, field: 'items[0].quantity' });
    }
    expect(await stockOf(id)).toBe(0);
    const [reserved] = await app.db.query<{ n: number }>('SELECT COALESCE(SUM(quantity), 0) AS n FROM reservation_items WHERE product_id = ?', [id]);
    expect(Number(reserved?.n)).toBe(10);
  });

  it('answers a repeated reservation with the stored one (200) and changes nothing', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();
    const first = await reserve(orderId, [[id, 3]]);

    const again = await reserve(orderId, [[id, 3]]);

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stockOf(id)).toBe(7);
  });

  it('serialises concurrent duplicates of one order id: one reserves, the others replay', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();

    const results = await Promise.all(Array.from({ length: 8 }, () => reserve(orderId, [[id, 4]])));

    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await stockOf(id)).toBe(6);
  });

  it('refuses the same order id with different items with 409 reservation_conflict', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();
    await reserve(orderId, [[id, 1]]);

    const res = await reserve(orderId, [[id, 2]]);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'reservation_conflict', order_id: orderId });
    expect(await stockOf(id)).toBe(9);
  });

  it('reserves all lines or none: a short second line leaves the first line untouched', async () => {
    const plenty = await productWithStock(10);
    const scarce = await productWithStock(1);
    const orderId = anOrderId();

    const res = await reserve(orderId, [[plenty, 2], [scarce, 5]]);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'insufficient_stock', product_id: scarce, requested: 5, available: 1, field: 'items[1].quantity' });
    expect(await stockOf(plenty)).toBe(10);
    expect(await stockOf(scarce)).toBe(1);
    expect((await api.get(`/internal/reservations/${orderId}`)).status).toBe(404);
  });

  it('lets a refused order id be reserved later, once stock is back', async () => {
    const id = await productWithStock(1);
    const orderId = anOrderId();
    expect((await reserve(orderId, [[id, 2]])).status).toBe(409);
    await api.put(`/products/${id}`, { stock: 5 });

    const res = await reserve(orderId, [[id, 2]]);

    expect(res.status).toBe(201);
  });

  it('refuses a deleted product with 422 product_unavailable naming the line, and an unknown one too', async () => {
    const available = await productWithStock(10);
    const deleted = await productWithStock(10);
    await api.delete(`/products/${deleted}`);

    const res = await reserve(anOrderId(), [[available, 1], [deleted, 1]]);
    const unknown = await reserve(anOrderId(), [[987654321, 1]]);

    expect(res.status).toBe(422);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'product_unavailable', field: 'items[1].product_id', product_id: deleted });
    expect(unknown.body).toMatchObject({ code: 'product_unavailable', field: 'items[0].product_id', product_id: 987654321 });
    expect(await stockOf(available)).toBe(10);
    expect(await stockOf(deleted)).toBe(10);
  });

  it('keeps a reservation readable, with its captured name and price, after the product is changed and deleted', async () => {
    const id = await productWithStock(10, '3.50');
    const orderId = anOrderId();
    const reserved = await reserve(orderId, [[id, 1]]);
    await api.put(`/products/${id}`, { name: 'Renamed', price: '99.00' });
    await api.delete(`/products/${id}`);

    const res = await api.get(`/internal/reservations/${orderId}`);

    expect(res.status).toBe(200);
    expect(res.body.items).toEqual(reserved.body.items);
    expect(res.body.items[0].unit_price).toBe('3.50');
  });

  it('puts stock back once on release, even when released twice in a row', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();
    await reserve(orderId, [[id, 4]]);

    const first = await release(orderId);
    const second = await release(orderId);

    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ order_id: orderId, status: 'released', released_at: expect.any(String) });
    expect(first.body.items).toEqual([expect.objectContaining({ product_id: id, quantity: 4 })]);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await stockOf(id)).toBe(10);
  });

  it('puts stock back once when ten releases of one order race', async () => {
    const a = await productWithStock(10);
    const b = await productWithStock(10);
    const orderId = anOrderId();
    await reserve(orderId, [[b, 3], [a, 2]]);

    const results = await Promise.all(Array.from({ length: 10 }, () => release(orderId)));

    expect(results.every((r) => r.status === 200 && r.body.status === 'released')).toBe(true);
    expect(await stockOf(a)).toBe(10);
    expect(await stockOf(b)).toBe(10);
  });

  it('returns stock to a product deleted after the reservation', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();
    await reserve(orderId, [[id, 6]]);
    await api.delete(`/products/${id}`);

    const res = await release(orderId);

    expect(res.status).toBe(200);
    expect(await stockOf(id)).toBe(10);
  });

  it('refuses to reserve again for a released order id with 409 reservation_released', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();
    await reserve(orderId, [[id, 1]]);
    await release(orderId);

    const res = await reserve(orderId, [[id, 1]]);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'reservation_released', order_id: orderId });
    expect(await stockOf(id)).toBe(10);
  });

  it('records a tombstone when an unknown order id is released, so a late reservation for it is refused', async () => {
    const id = await productWithStock(10);
    const orderId = anOrderId();

    const released = await release(orderId);
    const late = await reserve(orderId, [[id, 1]]);

    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ order_id: orderId, status: 'released', items: [] });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'reservation_released' });
    expect(await stockOf(id)).toBe(10);
  });

  it('records one tombstone when releases of an unknown order id race', async () => {
    const orderId = anOrderId();

    const results = await Promise.all(Array.from({ length: 6 }, () => release(orderId)));

    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.every((r) => r.body.status === 'released' && r.body.items.length === 0)).toBe(true);
    expect(await app.db.query('SELECT order_id FROM reservations WHERE order_id = ?', [orderId])).toHaveLength(1);
  });

  it('when a reservation and a release of the same order race, stock ends where it started', async () => {
    const id = await productWithStock(10);
    const orders = Array.from({ length: 10 }, () => anOrderId());

    const results = await Promise.all(orders.flatMap((orderId) => [reserve(orderId, [[id, 1]]), release(orderId)]));

    // Either the release came first (tombstone, reservation refused) or second (stock put back).
    expect(results.map((r) => r.status).filter((s) => ![200, 201, 409].includes(s))).toEqual([]);
    expect(await stockOf(id)).toBe(10);
    const statuses = await app.db.query<{ status: string }>('SELECT status FROM reservations WHERE order_id IN (?)', [orders]);
    expect(statuses.map((s) => s.status)).toEqual(orders.map(() => 'released'));
  });

  it('answers 404 for the reservation of an unknown order and 400 for a malformed order id', async () => {
    expect((await api.get(`/internal/reservations/${anOrderId()}`)).status).toBe(404);
    const bad = await api.get('/internal/reservations/has%20space');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: 'orderId' });
  });

  it.each([
    { name: 'a duplicate product_id', body: (id: number) => aReservation('o-dup', [[id, 1], [id, 2]]), field: 'items[1].product_id' },
    { name: 'no items', body: () => ({ order_id: 'o-empty', items: [] }), field: 'items' },
    { name: '101 items', body: (id: number) => aReservation('o-many', Array.from({ length: 101 }, (_, i) => [id + i, 1] as [number, number])), field: 'items' },
    { name: 'quantity 0', body: (id: number) => aReservation('o-zero', [[id, 0]]), field: 'items[0].quantity' },
    { name: 'quantity 100001', body: (id: number) => aReservation('o-huge', [[id, 100_001]]), field: 'items[0].quantity' },
    { name: 'a fractional quantity', body: (id: number) => aReservation('o-frac', [[id, 1.5]]), field: 'items[0].quantity' },
    { name: 'an order id with a space', body: (id: number) => aReservation('o 1', [[id, 1]]), field: 'order_id' },
    { name: 'a 65-character order id', body: (id: number) => aReservation('o'.repeat(65), [[id, 1]]), field: 'order_id' },
    { name: 'an unknown field', body: (id: number) => ({ ...aReservation('o-x', [[id, 1]]), customer: 'c' }), field: 'customer' },
    { name: 'an unknown item field', body: (id: number) => ({ order_id: 'o-y', items: [{ product_id: id, quantity: 1, price: '1.00' }] }), field: 'items[0].price' },
  ])('rejects a reservation with $name, naming $field', async ({ body, field }) => {
    const id = await productWithStock(10);

    const res = await api.post('/internal/reservations', body(id));

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed', field });
    expect(await stockOf(id)).toBe(10);
  });

  it('keeps stock consistent when multi-line reserves, their retries and double releases all race', async () => {
    const ids = [await productWithStock(1000), await productWithStock(1000), await productWithStock(1000)];
    const orders = Array.from({ length: 20 }, (_, i) => ({
      orderId: anOrderId(),
      items: [[ids[i % 3]!, 1], [ids[(i + 1) % 3]!, 2]] as Array<[number, number]>,
      release: i % 2 === 0,
    }));

    const results = await Promise.all(
      orders.flatMap((o) => [
        reserve(o.orderId, o.items),
        reserve(o.orderId, o.items),
        ...(o.release ? [release(o.orderId), release(o.orderId)] : []),
      ]),
    );

    expect(results.map((r) => r.status).filter((s) => s >= 500)).toEqual([]);
    const held = await app.db.query<{ product_id: number; n: string }>(
      `SELECT i.product_id, SUM(i.quantity) AS n FROM reservation_items i JOIN reservations r USING (order_id)
       WHERE r.status = 'reserved' AND i.product_id IN (?) GROUP BY i.product_id`,
      [ids],
    );
    for (const id of ids) {
      const heldUnits = Number(held.find((h) => Number(h.product_id) === id)?.n ?? 0);
      expect((await stockOf(id)) + heldUnits).toBe(1000);
    }
    const kept = orders.filter((o) => !o.release).map((o) => o.orderId);
    const statuses = await app.db.query<{ status: string }>('SELECT status FROM reservations WHERE order_id IN (?)', [kept]);
    expect(statuses.map((s) => s.status)).toEqual(kept.map(() => 'reserved'));
  });
  it('lists reservations still holding stock made before a moment, page by page, for the order service\'s orphan sweep', async () => {
    const id = await productWithStock(50);
    const [a, b, c, gone] = [anOrderId(), anOrderId(), anOrderId(), anOrderId()];
    for (const orderId of [a, b, c, gone]) expect((await reserve(orderId, [[id, 1]])).status).toBe(201);
    await release(gone);
    const cutoff = new Date(Date.now() + 1000).toISOString();

    const held: string[] = [];
    let after = '';
    for (let pages = 0; pages < 1000; pages++) {
      const res = await api.get(`/internal/reservations?status=reserved&created_before=${cutoff}&limit=2&after=${after}`);
      expect(res.status).toBe(200);
      held.push(...res.body.items.map((r: { order_id: string }) => r.order_id));
      if (res.body.next_after === null) break;
      after = res.body.next_after;
    }
    expect(held).toEqual(expect.arrayContaining([a, b, c]));
    expect(held).not.toContain(gone);
    expect([...held].sort()).toEqual(held);

    const earlier = await api.get(`/internal/reservations?status=reserved&created_before=2000-01-01T00:00:00Z`);
    expect(earlier.body).toEqual({ items: [], next_after: null });
  });

  it.each(['status=released&created_before=2030-01-01T00:00:00Z', 'status=reserved', 'status=reserved&created_before=yesterday', 'status=reserved&created_before=2030-01-01T00:00:00Z&limit=0'])(
    'refuses GET /internal/reservations?%s with 400',
    async (query) => {
      const res = await api.get(`/internal/reservations?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    },
  );
});
