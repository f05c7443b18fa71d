import { eventually, MessageCollector } from '@eshop/test-support';
import { metricTotal } from './support/consumer-metrics';
import { DedicatedMariaDb } from '@eshop/test-support';
import { OrderStack } from './support/order-stack';
import { expectDrainedDeliveryInvariants, expectOneDecisionPerOrder, messagesIn, type StockedProduct } from './support/delivery-invariants';
import { OrderLoad } from './support/order-load';
import { invariantFigures, loadFigures, ScenarioRecorder } from './support/reliability-report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 1000;
const PARTITIONS = 6;

/**
 * The most retries one partition can make in `windowMs` with backoff: the delays double from
 * RETRY_INITIAL_MS up to RETRY_MAX_MS and each is jittered to no less than half of itself.
 * A consumer that retried without waiting would make thousands.
 */
function maxRetriesPerPartition(windowMs: number): number {
  let retries = 0;
  let elapsed = 0;
  for (let delay = RETRY_INITIAL_MS; elapsed <= windowMs; delay = Math.min(RETRY_MAX_MS, delay * 2)) {
    retries++;
    elapsed += delay / 2;
  }
  return retries;
}

describe('order database restart during async processing (dedicated MariaDB)', () => {
  let mariadb: DedicatedMariaDb | undefined;
  let stack: OrderStack | undefined;
  let collector: MessageCollector | undefined;

  beforeAll(async () => {
    // Sequelize reports, with console.warn, a commit or rollback whose connection the restart cut: expected here.
    const warn = console.warn.bind(console);
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!/We are killing its connection/.test(String(args[0]))) warn(...args);
    });
    mariadb = await DedicatedMariaDb.create('ord-db-restart');
    await mariadb.start();
    stack = await OrderStack.start({
      name: 'dbrestart',
      orderDb: await mariadb.database('order_db'), // created by local/mariadb.sh with the eshop account
      partitions: PARTITIONS,
      env: { ORDER_CONSUMER_RETRY_INITIAL_MS: String(RETRY_INITIAL_MS), ORDER_CONSUMER_RETRY_MAX_MS: String(RETRY_MAX_MS) },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([collector?.stop(), stack?.close()]);
    await mariadb?.destroy();
    jest.restoreAllMocks();
  }, 60_000);

  it('when the order database restarts mid-stream, consumers back off and retry, and every accepted order is decided exactly once', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('e-database-restart', 'MariaDB (the order database) restarted during traffic', __filename);
    const products: StockedProduct[] = [
      { productId: await s.product.createProduct(80, '3.00'), initialStock: 80, quantity: 1 },
      { productId: await s.product.createProduct(100, '5.00'), initialStock: 100, quantity: 2 },
    ];
    // Sync orders without an Idempotency-Key reserve before they write, so the outage hits them after
    // reserving: their reservations must be given back (compensation).
    const forSync: StockedProduct = { productId: await s.product.createProduct(500, '1.00'), initialStock: 500, quantity: 1 };
    const load = new OrderLoad(s.api, products);
    const syncLoad = new OrderLoad(s.api, [forSync], { mode: 'sync', idempotencyKeys: false });
    await Promise.all([s.startConsumer(), s.startConsumer()]);

    await load.burst(150);
    await eventually(async () => {
      const counts = await s.countByStatus();
      expect((counts.confirmed ?? 0) + (counts.rejected ?? 0)).toBeGreaterThanOrEqual(20);
    }, 30_000, 50);
    const intakeFrom = Date.now();
    const intake = load.stream(2, 80);
    const syncIntake = syncLoad.stream(1, 100);
    expect((await s.countByStatus()).pending ?? 0).toBeGreaterThan(0); // the consumers are mid-stream

    const stoppingAt = Date.now();
    let upAt = 0;
    let downAt = 0;
    try {
      report.mark('clean shutdown of MariaDB begins', stoppingAt);
      await mariadb!.stop();
      downAt = Date.now();
      report.mark('MariaDB stopped', downAt);
      await sleep(5000);
      await mariadb!.start();
      upAt = Date.now();
      report.mark('MariaDB accepts connections again', upAt);
      report.span('database away', stoppingAt, upAt);
      await sleep(1000);
    } finally {
      await Promise.all([intake.stop(), syncIntake.stop()]);
    }
    report.span('intake (async and sync)', intakeFrom, Date.now());
    await load.burst(30);

    // Intake failed only while the database was away, and always with a problem.
    const refused = [...load.refused, ...syncLoad.refused];
    expect(load.refused.length).toBeGreaterThan(0);
    expect(syncLoad.refused.length).toBeGreaterThan(0);
    expect(refused.filter((r) => r.status < 500 || !r.contentType.startsWith('application/problem+json'))).toEqual([]);
    // …and as "come back later", not as an unexplained 500.
    expect(refused.filter((r) => r.status !== 503).map((r) => r.status)).toEqual([]);
    expect(refused.filter((r) => r.at < stoppingAt || r.at > upAt + 1000)).toEqual([]);
    // A 5xx does not prove nothing was committed (the commit may have been cut off after it applied), so
    // the failed requests are retried with their Idempotency-Keys, as the API asks: each one is then
    // accepted, either afresh or as the replay of an order that was recorded whole.
    await load.retryRefused();
    expect(load.refused.filter((r) => r.retryStatus !== 202)).toEqual([]);
    const statuses = await expectDrainedDeliveryInvariants(s, [...load.accepted, ...syncLoad.accepted], [...products, forSync]);
    report.mark('every accepted order decided');
    // Each failed sync order had reserved before its write failed; each such reservation was released.
    const syncReservations = await s.product.reservationsOf(forSync.productId);
    expect(syncReservations.released).toHaveLength(syncLoad.refused.length);
    expect(syncReservations.reserved).toHaveLength(syncLoad.accepted.length);

    // The consumers waited the outage out with backoff: they retried, but boundedly, and skipped nothing.
    const retries = await metricTotal(s.consumers, 'kafka_consumer_message_retries_total');
    const window = upAt + 2000 - stoppingAt; // the outage, plus the pools' first reconnect
    expect(retries).toBeGreaterThan(0);
    // (+1: a message may meet one stale pooled connection after the restart and start its backoff afresh)
    expect(retries).toBeLessThanOrEqual(PARTITIONS * (maxRetriesPerPartition(window) + 1));
    expect(await metricTotal(s.consumers, 'kafka_consumer_messages_dead_lettered_total')).toBe(0);
    const deadLettered = await messagesIn(s.kafka, s.dlqTopic);
    expect(deadLettered).toBe(0);

    collector = await new MessageCollector(s.topic, s.kafka).start();
    await collector.waitFor(await messagesIn(s.kafka, s.topic), 30_000);
    // A relay cut off between sending and deleting its batch sends it again (same event ids): allowed.
    expectOneDecisionPerOrder(collector.messages, statuses, { republishAllowed: true });

    report.clients('async intake (POST /orders/async, with Idempotency-Keys)', loadFigures(load));
    report.clients('sync intake (POST /orders, no Idempotency-Key)', loadFigures(syncLoad));
    report.observe('consumer retries (with backoff) across both consumers', retries);
    report.observe('sync reservations released by compensation', syncReservations.released.length);
    report.invariants(
      await invariantFigures(s, [...load.accepted, ...syncLoad.accepted], [...products, forSync], { orderEvents: collector.messages, deadLettered }),
    );
    await report.write();
  }, 180_000);
});
