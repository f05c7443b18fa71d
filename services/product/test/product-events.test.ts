import { ADMIN, eventually, MessageCollector, testKafka, type CollectedMessage } from '@eshop/test-support';
import { ApiClient } from '@eshop/test-support';
import { anOrderId, aProduct, aReservation } from './support/factories';
import { startTestService, type TestProductService } from './support/product-service';

interface Envelope {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  data: Record<string, unknown>;
}

const envelope = (m: CollectedMessage) => m.value as Envelope;

describe('product events on Kafka (transactional outbox)', () => {
  let app: TestProductService;
  let api: ApiClient;
  let collector: MessageCollector;

  beforeAll(async () => {
    app = await startTestService({ name: 'events' });
    api = new ApiClient(app.url, { as: ADMIN });
    collector = await new MessageCollector(app.topic, testKafka(app.brokers)).start();
  });

  afterAll(async () => {
    await collector?.stop();
    await app?.close();
  });

  /** Events for one product once `count` arrived, after a short wait in which a duplicate would show up. */
  async function eventsFor(productId: number, count: number): Promise<CollectedMessage[]> {
    const forProduct = () => collector.messages.filter((m) => m.key === String(productId));
    await eventually(() => {
      if (forProduct().length < count) throw new Error(`${forProduct().length} of ${count} events for product ${productId}`);
    }, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    return forProduct();
  }

  it('publishes exactly one event per change, keyed by product id, with the standard envelope and headers', async () => {
    const created = await api.post('/products', aProduct({ name: 'Evented', price: '4.20', stock: 5 }));
    const id: number = created.body.id;
    const updated = await api.put(`/products/${id}`, { stock: 8 });
    const orderId = anOrderId();
    await api.post('/internal/reservations', aReservation(orderId, [[id, 3]]));
    await api.post(`/internal/reservations/${orderId}/release`);
    await api.delete(`/products/${id}`);

    const events = await eventsFor(id, 5);

    expect(events.map((m) => envelope(m).type)).toEqual([
      'product.created',
      'product.updated',
      'product.stock_reserved',
      'product.stock_released',
      'product.deleted',
    ]);
    expect(new Set(events.map((m) => m.partition)).size).toBe(1);
    for (const m of events) {
      const e = envelope(m);
      expect(e).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: expect.any(String), version: 1, occurredAt: expect.any(String), data: expect.any(Object) });
      expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt);
      expect(m.headers).toEqual({ 'event-id': e.id, 'event-type': e.type, 'content-type': 'application/json' });
    }
    const [c, u, reserved, released, d] = events.map(envelope);
    expect(c?.data).toEqual(created.body);
    expect(u?.data).toEqual(updated.body);
    expect(reserved?.data).toEqual({ product_id: id, order_id: orderId, quantity: 3, stock: 5 });
    expect(released?.data).toEqual({ product_id: id, order_id: orderId, quantity: 3, stock: 8 });
    expect(d?.data).toMatchObject({ id, name: 'Evented', stock: 8, version: 5, deleted_at: expect.any(String) });
  });

  it('publishes one stock event per order line, each keyed by its product', async () => {
    const a = (await api.post('/products', aProduct({ stock: 10 }))).body.id as number;
    const b = (await api.post('/products', aProduct({ stock: 10 }))).body.id as number;
    const orderId = anOrderId();

    await api.post('/internal/reservations', aReservation(orderId, [[b, 2], [a, 1]]));

    const forA = (await eventsFor(a, 2)).map(envelope);
    const forB = (await eventsFor(b, 2)).map(envelope);
    expect(forA.map((e) => e.type)).toEqual(['product.created', 'product.stock_reserved']);
    expect(forB.map((e) => e.type)).toEqual(['product.created', 'product.stock_reserved']);
    expect(forA[1]?.data).toEqual({ product_id: a, order_id: orderId, quantity: 1, stock: 9 });
    expect(forB[1]?.data).toEqual({ product_id: b, order_id: orderId, quantity: 2, stock: 8 });
  });

  it('publishes nothing for rejected changes: stale or invalid update, failed, conflicting or replayed reservation, second release', async () => {
    const created = await api.post('/products', aProduct({ stock: 1 }));
    const id: number = created.body.id;
    const orderId = anOrderId();
    await api.post('/internal/reservations', aReservation(orderId, [[id, 1]]));
    await api.post(`/internal/reservations/${orderId}/release`);
    const before = (await eventsFor(id, 3)).length;

    const rejected = await Promise.all([
      api.put(`/products/${id}`, { stock: 9 }, { 'If-Match': '"1"' }),
      api.put(`/products/${id}`, { stock: -1 }),
      api.post('/internal/reservations', aReservation(anOrderId(), [[id, 2]])),
      api.post('/internal/reservations', aReservation(orderId, [[id, 1]])),
      api.post(`/internal/reservations/${orderId}/release`),
    ]);

    // A marker change after the rejected ones: the relay publishes in commit order, so any event of a
    // rejected change would arrive before the marker's.
    await api.put(`/products/${id}`, { description: 'marker' });
    const after = (await eventsFor(id, before + 1)).map(envelope);

    expect(rejected.map((r) => r.status)).toEqual([412, 400, 409, 409, 200]);
    expect(before).toBe(3);
    expect(after.map((e) => e.type)).toEqual(['product.created', 'product.stock_reserved', 'product.stock_released', 'product.updated']);
    expect(after[3]?.data).toMatchObject({ description: 'marker', stock: 1 });
  });

  it('never publishes an event id twice', async () => {
    await collector.waitFor(1);

    const ids = collector.messages.map((m) => envelope(m).id);

    expect(new Set(ids).size).toBe(ids.length);
  });
});
