import { eventually, MessageCollector } from '@eshop/test-support';
import { aUserId, anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('PUT /orders/:id/status', () => {
  let stack: OrderStack;
  let events: MessageCollector;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'status' });
    events = await new MessageCollector(stack.topic).start();
  });

  afterAll(async () => {
    await events?.stop();
    await stack?.close();
  });

  async function syncOrder(quantity = 1, stock = 10): Promise<{ id: string; productId: number }> {
    const productId = await stack.product.createProduct(stock, '10.00');
    const res = await stack.api.post('/orders', anOrder(aUserId(), [[productId, quantity]]));
    expect(res.status).toBe(201);
    return { id: res.body.id, productId };
  }

  const setStatus = (id: string, status: string, extra: Record<string, unknown> = {}) => stack.api.put(`/orders/${id}/status`, { status, ...extra });
  const eventTypesOf = (id: string) => events.messages.filter((m) => m.key === id).map((m) => m.headers['event-type']);

  describe('while no consumer runs (orders stay pending)', () => {
    it('pending → confirmed reserves the stock like the consumers do and answers the priced order', async () => {
      const productId = await stack.product.createProduct(5, '2.50');
      const placed = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 2]]));

      const res = await setStatus(placed.body.id, 'confirmed');

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'confirmed', total: '5.00', version: 2, items: [{ unit_price: '2.50', line_total: '5.00' }] });
      expect(await stack.product.stockOf(productId)).toBe(3);
    });

    it('pending → confirmed without enough stock rejects the order and answers 409 insufficient_stock', async () => {
      const productId = await stack.product.createProduct(1);
      const placed = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 2]]));

      const res = await setStatus(placed.body.id, 'confirmed');

      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'insufficient_stock', field: 'items[0].product_id', order_status: 'rejected' });
      expect((await stack.api.get(`/orders/${placed.body.id}`)).body).toMatchObject({
        status: 'rejected',
        reason: `insufficient_stock: product ${productId}`,
      });
    });

    it('pending → rejected stores the reason; the consumers then leave the order alone and reserve nothing', async () => {
      const productId = await stack.product.createProduct(5);
      const placed = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]]));

      const res = await setStatus(placed.body.id, 'rejected', { reason: 'fraud check failed' });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'rejected', reason: 'fraud check failed' });
      await stack.startConsumer();
      // order.placed is handled first (not pending: nothing to do), then order.rejected releases, which
      // leaves a tombstone so no late reservation can ever take stock for this order.
      await eventually(async () => {
        const [row] = await stack.product.db.query<{ status: string }>('SELECT status FROM reservations WHERE order_id = ?', [placed.body.id]);
        expect(row?.status).toBe('released');
      }, 30_000);
      expect(await stack.product.stockOf(productId)).toBe(5);
      expect((await stack.api.get(`/orders/${placed.body.id}`)).body).toMatchObject({ status: 'rejected', version: 2 });
    });
  });

  describe('with the consumers running', () => {
    beforeAll(async () => {
      if (stack.consumers.length === 0) await stack.startConsumer();
    });

    it('walks confirmed → paid → shipped → delivered, publishing an event for every step', async () => {
      const { id } = await syncOrder();

      for (const [status, version] of [['paid', 2], ['shipped', 3], ['delivered', 4]] as const) {
        const res = await setStatus(id, status);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id, status, version });
      }

      await eventually(() => expect(eventTypesOf(id)).toEqual(['order.confirmed', 'order.paid', 'order.shipped', 'order.delivered']));
      const delivered = events.messages.find((m) => m.key === id && m.headers['event-type'] === 'order.delivered');
      expect(delivered?.value).toMatchObject({ data: { order_id: id, status: 'delivered', previous_status: 'shipped', total: '10.00' } });
      const metrics = await (await fetch(`${stack.api.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^order_status_transitions_total\{[^}]*from="shipped",to="delivered"[^}]*\} [1-9]/m);
    });

    it.each([
      ['confirmed', 'shipped', ['paid', 'cancelled']],
      ['confirmed', 'pending', ['paid', 'cancelled']],
      ['confirmed', 'confirmed', ['paid', 'cancelled']],
    ])('refuses %s → %s with 409 illegal_transition and the allowed statuses', async (_from, to, allowed) => {
      const { id } = await syncOrder();

      const res = await setStatus(id, to as string);

      expect(res.status).toBe(409);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'illegal_transition', current_status: 'confirmed', allowed });
    });

    it('refuses any change of a delivered order with an empty allowed list', async () => {
      const { id } = await syncOrder();
      for (const status of ['paid', 'shipped', 'delivered']) expect((await setStatus(id, status)).status).toBe(200);

      const res = await setStatus(id, 'cancelled');

      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'illegal_transition', allowed: [] });
    });

    it.each([
      ['an unknown status', { status: 'teleported' }, 'status'],
      ['no status', {}, 'status'],
      ['an unknown field', { status: 'paid', note: 'x' }, 'note'],
      ['a reason on paid', { status: 'paid', reason: 'because' }, 'reason'],
    ])('answers 400 naming the field for %s', async (_case, body, field) => {
      const { id } = await syncOrder();

      const res = await stack.api.put(`/orders/${id}/status`, body);

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', field });
    });

    it('answers 404 for an unknown order and 400 for a malformed id', async () => {
      expect((await setStatus('01a2140b-3081-77f7-b8a5-c4f6d4137804', 'paid')).status).toBe(404);
      expect((await setStatus('not-an-id', 'paid')).status).toBe(400);
    });

    it('cancelling a confirmed order releases its reserved stock (through order.cancelled)', async () => {
      const { id, productId } = await syncOrder(3, 10);
      expect(await stack.product.stockOf(productId)).toBe(7);

      const res = await setStatus(id, 'cancelled', { reason: 'customer changed their mind' });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'cancelled', reason: 'customer changed their mind' });
      await eventually(async () => expect(await stack.product.stockOf(productId)).toBe(10), 30_000);
      expect((await stack.product.reservationsOf(productId)).released).toEqual([id]);
    });

    it('cancelling a paid order releases its stock too, exactly once', async () => {
      const { id, productId } = await syncOrder(2, 10);
      expect((await setStatus(id, 'paid')).status).toBe(200);

      expect((await setStatus(id, 'cancelled')).status).toBe(200);

      await eventually(async () => expect(await stack.product.stockOf(productId)).toBe(10), 30_000);
      expect((await setStatus(id, 'cancelled')).status).toBe(409);
      await new Promise((r) => setTimeout(r, 500));
      expect(await stack.product.stockOf(productId)).toBe(10);
    });

    it('when 10 cancellations race on one order, exactly one wins, the others get 409, and the stock is released once', async () => {
      const { id, productId } = await syncOrder(4, 10);

      const results = await Promise.all(Array.from({ length: 10 }, () => setStatus(id, 'cancelled')));

      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      const lost = results.filter((r) => r.status === 409);
      expect(lost).toHaveLength(9);
      for (const res of lost) expect(res.body).toMatchObject({ code: 'illegal_transition', current_status: 'cancelled' });
      expect((await stack.api.get(`/orders/${id}`)).body).toMatchObject({ status: 'cancelled', version: 2 });
      await eventually(() => expect(eventTypesOf(id)).toEqual(['order.confirmed', 'order.cancelled']));
      await eventually(async () => expect(await stack.product.stockOf(productId)).toBe(10), 30_000);
    });

    it('when paid and cancelled race, each wins at most once and the winners form a legal path', async () => {
      const { id } = await syncOrder();

      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => setStatus(id, i % 2 === 0 ? 'paid' : 'cancelled')));

      const won = results.filter((r) => r.status === 200).sort((a, b) => a.body.version - b.body.version);
      expect(results.filter((r) => r.status !== 200).every((r) => r.status === 409)).toBe(true);
      // Either cancelled straight away, or paid and then (legally) cancelled; never paid twice or cancelled twice.
      expect([['cancelled'], ['paid'], ['paid', 'cancelled']]).toContainEqual(won.map((r) => r.body.status));
      const final = (await stack.api.get(`/orders/${id}`)).body;
      expect(final.version).toBe(1 + won.length);
      await eventually(() => expect(eventTypesOf(id)).toEqual(['order.confirmed', ...won.map((r) => `order.${r.body.status}`)]));
    });
  });
});
