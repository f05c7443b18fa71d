import { ApiClient, eventually, freePort, MessageCollector, type CollectedMessage } from '@eshop/test-support';
import { expectDrainedDeliveryInvariants, expectOneDecisionPerOrder, messagesIn, type StockedProduct } from './support/delivery-invariants';
import { OrderLoad, type AcceptedOrder } from './support/order-load';
import { OrderStack } from './support/order-stack';
import { invariantFigures, loadFigures, ScenarioRecorder } from './support/reliability-report';
import { buildServices, ServiceProcess } from './support/service-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a killed API stays away before it is started again (a supervisor's restart). */
const RESTART_AFTER_MS = 2000;
/** A sync request cut off by the kill holds its Idempotency-Key this long; a retry after it resumes the same order id. */
const IDEMPOTENCY_LEASE_MS = 3000;

/**
 * Each accepted order's one event (order.placed for async, order.confirmed for sync) is on the topic exactly
 * once as far as a consumer that deduplicates by event id can tell; `noCopies`: orders whose event cannot
 * have been sent before the restart (no broker was reachable), so not even a second copy is allowed.
 */
function expectOneIntakeEventPerOrder(messages: readonly CollectedMessage[], accepted: readonly AcceptedOrder[], noCopies: ReadonlySet<string>): void {
  const intakeType = (o: AcceptedOrder) => (o.mode === 'async' ? 'order.placed' : 'order.confirmed');
  const problems: string[] = [];
  for (const order of accepted) {
    const events = messages.filter((m) => m.key === order.id && m.headers['event-type'] === intakeType(order));
    const ids = new Set(events.map((e) => e.headers['event-id']));
    if (ids.size !== 1) problems.push(`${order.id} (${order.mode}): ${ids.size} distinct ${intakeType(order)} events`);
    else if (events.length > 1 && noCopies.has(order.id)) problems.push(`${order.id} (${order.mode}): ${events.length} copies although no broker was reachable`);
  }
  expect(problems).toEqual([]);
}

describe('order API crash (kill -9 of a built dist/main.js) between the commit and the outbox publish', () => {
  let stack: OrderStack | undefined;
  let api: ServiceProcess | undefined;
  let collector: MessageCollector | undefined;

  beforeAll(async () => {
    const [built, started] = await Promise.allSettled([buildServices(), OrderStack.start({ name: 'apicrash' })]);
    if (started.status === 'fulfilled') stack = started.value;
    if (built.status === 'rejected') throw built.reason;
    if (started.status === 'rejected') throw started.reason;
    // The API under test is a process of its own; the in-process one must not publish its outbox for it.
    await stack!.stopApi();
  }, 240_000);

  afterAll(async () => {
    await api?.crash().catch(() => undefined);
    await Promise.allSettled([collector?.stop(), stack?.close()]);
  }, 60_000);

  it('when the API is killed with committed orders whose events are still in the outbox, its restart publishes each of them once and every order is decided', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('c-api-kill', 'kill -9 of the order API between the DB commit and the outbox publish', __filename);
    const port = await freePort();
    const env = { ...s.env, ORDER_SERVICE_PORT: String(port), ORDER_IDEMPOTENCY_LEASE_MS: String(IDEMPOTENCY_LEASE_MS) };
    const client = new ApiClient(`http://127.0.0.1:${port}`, s.api.auth);
    const products: StockedProduct[] = [
      { productId: await s.product.createProduct(100, '3.00'), initialStock: 100, quantity: 1 },
      { productId: await s.product.createProduct(1000, '1.50'), initialStock: 1000, quantity: 1 },
    ];
    const asyncLoad = new OrderLoad(client, [products[0]!]);
    const syncLoad = new OrderLoad(client, [products[1]!], { mode: 'sync' });
    const outboxRows = async () => (await s.db.query<{ message_key: string }>('SELECT message_key FROM outbox_events')).map((r) => r.message_key);

    // Phase 1: nothing listens where the API looks for its broker (a stopped broker, as a client sees it),
    // so every event committed with an order waits in the outbox.
    const unreachable = { ...env, KAFKA_BROKERS: `127.0.0.1:${await freePort()}` };
    api = await ServiceProcess.spawn('order-api', unreachable);
    report.mark(`order API (pid ${api.pid}) running; its broker address has nothing listening: the outbox cannot publish`);
    const intakeFrom = Date.now();
    const asyncIntake = asyncLoad.stream(2, 50);
    const syncIntake = syncLoad.stream(1, 100);
    let firstKillAt = 0;
    let secondKillAt = 0;
    let phase1: Set<string>;
    try {
      await eventually(() => {
        expect(asyncLoad.accepted.length).toBeGreaterThanOrEqual(60);
        expect(syncLoad.accepted.length).toBeGreaterThanOrEqual(20);
      }, 30_000, 50);
      const victim = api;
      firstKillAt = Date.now();
      await victim.crash();
      phase1 = new Set([...asyncLoad.accepted, ...syncLoad.accepted].map((o) => o.id));
      const waiting = await outboxRows();
      // Everything the killed process accepted is committed with its event, and none of it was published.
      expect([...phase1].filter((id) => !waiting.includes(id))).toEqual([]);
      report.mark(`kill -9 of the order API (pid ${victim.pid}) with ${waiting.length} committed events unpublished`, firstKillAt);
      report.observe('committed but unpublished events at the first kill', waiting.length);

      await sleep(firstKillAt + RESTART_AFTER_MS - Date.now());
      api = await ServiceProcess.spawn('order-api', env);
      report.mark(`order API started again (pid ${api.pid}), with a reachable broker`);
      report.span('order API away (first kill)', firstKillAt, Date.now());
      // The new process's relay publishes the dead one's events.
      await eventually(async () => expect(await outboxRows()).toEqual([]), 60_000, 100);
      report.mark('the restarted API has published the whole outbox');

      // Phase 2: the broker is up and the relay publishes within milliseconds of each commit: kill it under traffic.
      const before = asyncLoad.accepted.length;
      await eventually(() => expect(asyncLoad.accepted.length).toBeGreaterThanOrEqual(before + 20), 30_000, 20);
      const second = api;
      secondKillAt = Date.now();
      await second.crash();
      const inFlight = (await outboxRows()).length;
      report.mark(`kill -9 of the order API (pid ${second.pid}) under traffic, broker up: ${inFlight} events unpublished`, secondKillAt);
      report.observe('committed but unpublished events at the second kill', inFlight);
      await sleep(secondKillAt + RESTART_AFTER_MS - Date.now());
      api = await ServiceProcess.spawn('order-api', env);
      report.mark(`order API started again (pid ${api.pid})`);
      report.span('order API away (second kill)', secondKillAt, Date.now());
      const after = asyncLoad.accepted.length;
      await eventually(() => expect(asyncLoad.accepted.length).toBeGreaterThanOrEqual(after + 10), 30_000, 20);
    } finally {
      await Promise.all([asyncIntake.stop(), syncIntake.stop()]);
    }
    report.span('intake (async and sync)', intakeFrom, Date.now());

    // While the API was away clients got no answer at all, and nothing else went wrong.
    const refused = [...asyncLoad.refused, ...syncLoad.refused];
    expect(refused.filter((r) => r.status !== 0)).toEqual([]);
    expect(refused.filter((r) => r.at < firstKillAt)).toEqual([]);
    // No answer does not prove nothing was committed: the clients retry with their Idempotency-Keys
    // (after the lease of a sync request cut off mid-way), and each one is accepted, afresh or as a replay.
    await sleep(IDEMPOTENCY_LEASE_MS);
    await Promise.all([asyncLoad.retryRefused(), syncLoad.retryRefused()]);
    expect(asyncLoad.refused.filter((r) => r.retryStatus !== 202)).toEqual([]);
    expect(syncLoad.refused.filter((r) => r.retryStatus !== 201)).toEqual([]);

    // Only now do consumers start: every order.placed they see was published by an API process.
    await eventually(async () => expect(await outboxRows()).toEqual([]), 30_000, 100);
    await Promise.all([s.startConsumer(), s.startConsumer()]);
    const accepted = [...asyncLoad.accepted, ...syncLoad.accepted];
    const statuses = await expectDrainedDeliveryInvariants(s, accepted, products);
    report.mark('every accepted order decided');

    collector = await new MessageCollector(s.topic, s.kafka).start();
    await collector.waitFor(await messagesIn(s.kafka, s.topic), 30_000);
    expectOneIntakeEventPerOrder(collector.messages, accepted, phase1!);
    expectOneDecisionPerOrder(collector.messages, statuses, { republishAllowed: true });
    const deadLettered = await messagesIn(s.kafka, s.dlqTopic);
    expect(deadLettered).toBe(0);

    report.clients('async intake (POST /orders/async, with Idempotency-Keys)', loadFigures(asyncLoad));
    report.clients('sync intake (POST /orders, with Idempotency-Keys)', loadFigures(syncLoad));
    report.invariants(await invariantFigures(s, accepted, products, { orderEvents: collector.messages, deadLettered }));
    await report.write();
  }, 240_000);
});
