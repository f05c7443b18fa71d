import { eventually, MessageCollector } from '@eshop/test-support';
import { DedicatedBroker } from '@eshop/test-support';
import { OrderStack } from './support/order-stack';
import { expectDrainedDeliveryInvariants, expectOneDecisionPerOrder, messagesIn, type StockedProduct } from './support/delivery-invariants';
import { OrderLoad } from './support/order-load';
import { invariantFigures, loadFigures, ScenarioRecorder } from './support/reliability-report';

/** How long the broker stays away (issue 6: "stopped for 30 s during async intake and consumption"). */
const OUTAGE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Kafka broker restart during async intake and consumption (dedicated broker)', () => {
  let broker: DedicatedBroker | undefined;
  let stack: OrderStack | undefined;
  let collector: MessageCollector | undefined;

  beforeAll(async () => {
    broker = await DedicatedBroker.create('ord-broker-restart');
    stack = await OrderStack.start({ name: 'brokerrestart', brokers: broker.brokers, infrastructure: broker.start() });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([collector?.stop(), stack?.close()]);
    await broker?.destroy();
  }, 60_000);

  it('when the broker is killed mid-stream for 30 s, intake keeps answering 202 (and sync 201) and after its restart every order is decided exactly once', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('d-broker-outage', 'Kafka broker stopped for 30 s during async intake and consumption', __filename);
    const products: StockedProduct[] = [
      { productId: await s.product.createProduct(90, '4.00'), initialStock: 90, quantity: 1 },
      { productId: await s.product.createProduct(120, '6.00'), initialStock: 120, quantity: 2 },
    ];
    const forSync: StockedProduct = { productId: await s.product.createProduct(500, '1.00'), initialStock: 500, quantity: 1 };
    const load = new OrderLoad(s.api, products);
    const syncLoad = new OrderLoad(s.api, [forSync], { mode: 'sync' });
    const [consumer] = await Promise.all([s.startConsumer(), s.startConsumer()]);
    const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

    await load.burst(120);
    await eventually(async () => {
      const counts = await s.countByStatus();
      expect((counts.confirmed ?? 0) + (counts.rejected ?? 0)).toBeGreaterThanOrEqual(20);
    }, 30_000, 50);
    const intakeFrom = Date.now();
    const intake = load.stream(1, 100);
    const syncIntake = syncLoad.stream(1, 250);
    expect((await s.countByStatus()).pending ?? 0).toBeGreaterThan(0); // the consumers are mid-stream

    let downAt = 0;
    let upAt = 0;
    try {
      await broker!.stop({ hard: true });
      downAt = Date.now();
      report.mark('kill -9 of the broker', downAt);
      // Orders accepted with no broker are recorded together with their order.placed outbox row.
      const duringOutage = await eventually(() => {
        const accepted = load.acceptedBetween(downAt, Date.now());
        expect(accepted.length).toBeGreaterThanOrEqual(10);
        return accepted;
      }, 10_000, 50);
      const [waiting] = await s.db.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM outbox_events WHERE event_type = 'order.placed' AND message_key IN (?)`,
        [duringOutage.map((o) => o.id)],
      );
      expect(Number(waiting?.n)).toBe(duringOutage.length);
      // The API's readiness needs only the database (Kafka is reported in the body, not critical); a consumer cut
      // off from its broker is not ready.
      await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${s.service.port}/readyz`);
        expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 200, body: { checks: { database: 'ok', kafka: 'failed' } } });
      }, 15_000, 250);
      expect(await ready(consumer!.port)).toBe(503);
      report.observe('readiness during the outage', { 'order API /readyz': 200, 'consumer /readyz': 503 });
      await sleep(downAt + OUTAGE_MS - Date.now());
      const [backlog] = await s.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
      report.observe('outbox rows waiting when the broker was started again', Number(backlog?.n));
      report.mark('broker start begins');
      await broker!.start(); // a JVM start, log recovery, readiness: ~10 s more
      upAt = Date.now();
      report.mark('broker answers again', upAt);
      report.span('broker away', downAt, upAt);
    } finally {
      await Promise.all([intake.stop(), syncIntake.stop()]);
    }
    report.span('intake (async and sync)', intakeFrom, Date.now());
    await load.burst(30);

    expect(load.refused).toEqual([]);
    expect(syncLoad.refused).toEqual([]);
    expect(load.acceptedBetween(downAt, upAt).length).toBeGreaterThan(50);
    expect(syncLoad.acceptedBetween(downAt, upAt).length).toBeGreaterThan(10);
    await eventually(async () => expect(await ready(consumer!.port)).toBe(200), 30_000, 250);
    report.mark('consumer ready again');
    const statuses = await expectDrainedDeliveryInvariants(s, [...load.accepted, ...syncLoad.accepted], [...products, forSync]);
    report.mark('every accepted order decided');

    // Everything is published now (the outbox is empty): read the whole topic, each order decided once
    // (sync orders' order.confirmed included).
    collector = await new MessageCollector(s.topic, s.kafka).start();
    await collector.waitFor(await messagesIn(s.kafka, s.topic), 30_000);
    expectOneDecisionPerOrder(collector.messages, statuses, { republishAllowed: true });
    const deadLettered = await messagesIn(s.kafka, s.dlqTopic);
    expect(deadLettered).toBe(0); // nothing skipped as poison

    report.clients('async intake (POST /orders/async)', loadFigures(load));
    report.clients('sync intake (POST /orders)', loadFigures(syncLoad));
    report.observe('orders accepted while the broker was away', {
      async: load.acceptedBetween(downAt, upAt).length,
      sync: syncLoad.acceptedBetween(downAt, upAt).length,
    });
    report.invariants(
      await invariantFigures(s, [...load.accepted, ...syncLoad.accepted], [...products, forSync], { orderEvents: collector.messages, deadLettered }),
    );
    await report.write();
  }, 240_000);
});
