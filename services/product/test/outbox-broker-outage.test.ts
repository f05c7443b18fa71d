import { ADMIN, eventually, MessageCollector, testKafka } from '@eshop/test-support';
import { ApiClient } from '@eshop/test-support';
import { anOrderId, aProduct, aReservation } from './support/factories';
import { DedicatedBroker } from '@eshop/test-support';
import { startTestService, type TestProductService } from './support/product-service';

jest.setTimeout(240_000);

interface Envelope {
  id: string;
  type: string;
  data: { description?: string; order_id?: string };
}

/** An event the test expects, in the order it made the change. */
interface Expected {
  key: string;
  type: string;
  /** The description written by an update, or the order id of a stock event. */
  marker?: string;
}

describe('outbox relay across a Kafka broker outage (dedicated broker)', () => {
  let broker: DedicatedBroker;
  let app: TestProductService | undefined;
  let collector: MessageCollector | undefined;

  beforeAll(async () => {
    broker = await DedicatedBroker.create('pt-outage');
    await broker.start();
    app = await startTestService({ name: 'outage', brokers: broker.brokers });
  });

  afterAll(async () => {
    await collector?.stop().catch(() => undefined);
    await app?.service.stop().catch(() => undefined);
    await app?.db.drop().catch(() => undefined);
    await broker?.destroy();
  });

  it('accepts writes while the broker is down and publishes every event exactly once, in order per product, after it returns', async () => {
    const api = new ApiClient(app!.url, { as: ADMIN });
    const expected: Expected[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = (await api.post('/products', aProduct({ stock: 100 }))).body.id as number;
      ids.push(id);
      expected.push({ key: String(id), type: 'product.created' });
    }
    await eventually(async () => {
      const [row] = await app!.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
      if (Number(row?.n) !== 0) throw new Error('the relay has not published the first events yet');
    }, 30_000);

    await broker.stop();
    const duringOutage: Expected[] = [];
    const startedAt = Date.now();
    for (let step = 0; step < 20; step++) {
      const id = ids[step % 3]!;
      const res = await api.put(`/products/${id}`, { description: `step-${step}` });
      expect(res.status).toBe(200);
      duringOutage.push({ key: String(id), type: 'product.updated', marker: `step-${step}` });
      if (step % 5 === 4) {
        const orderId = anOrderId();
        expect((await api.post('/internal/reservations', aReservation(orderId, [[id, 2]]))).status).toBe(201);
        duringOutage.push({ key: String(id), type: 'product.stock_reserved', marker: orderId });
        if (step === 9) {
          expect((await api.post(`/internal/reservations/${orderId}/release`)).status).toBe(200);
          duringOutage.push({ key: String(id), type: 'product.stock_released', marker: orderId });
        }
      }
    }
    const late = await api.post('/products', aProduct());
    expect(late.status).toBe(201);
    duringOutage.push({ key: String(late.body.id), type: 'product.created' });
    expected.push(...duringOutage);
    expect(Date.now() - startedAt).toBeLessThan(15_000); // writes never wait for Kafka
    const [backlog] = await app!.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
    expect(Number(backlog?.n)).toBe(duringOutage.length);

    // Still ready: no request needs Kafka, so a broker outage must not take the product pods out of their Service
    // (sync orders and the consumers' reservations would fail with them). It shows in /readyz's body and in the
    // outbox's age, which alert OutboxBacklogAging watches.
    await eventually(async () => {
      const res = await fetch(`${app!.url}/readyz`);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 200, body: { status: 'ready', checks: { database: 'ok', kafka: 'failed' } } });
    }, 30_000, 250);
    const metrics = await (await fetch(`${app!.url}/metrics`)).text();
    const age = /^outbox_oldest_event_age_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics);
    expect(Number(age?.[1])).toBeGreaterThan(0);

    await broker.start();
    collector = await new MessageCollector(app!.topic, testKafka(broker.brokers)).start();
    await collector.waitFor(expected.length, 120_000);
    await new Promise((r) => setTimeout(r, 2000)); // duplicates, if any, would arrive now

    const messages = collector.messages;
    expect(messages).toHaveLength(expected.length);
    const eventIds = messages.map((m) => (m.value as Envelope).id);
    expect(new Set(eventIds).size).toBe(eventIds.length);
    for (const key of new Set(expected.map((e) => e.key))) {
      const got = messages
        .filter((m) => m.key === key)
        .map((m) => {
          const e = m.value as Envelope;
          const marker = e.type === 'product.updated' ? e.data.description : e.data.order_id;
          return e.type === 'product.created' ? { key, type: e.type } : { key, type: e.type, marker };
        });
      expect(got).toEqual(expected.filter((e) => e.key === key));
    }
    const [left] = await app!.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
    expect(Number(left?.n)).toBe(0);
  });
});
