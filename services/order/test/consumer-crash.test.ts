import { eventually, MessageCollector } from '@eshop/test-support';
import { scrapedTotal } from './support/consumer-metrics';
import {
  expectDrainedDeliveryInvariants,
  expectOneDecisionPerOrder,
  expectOneReservationPerConfirmedOrder,
  messagesIn,
  publishedEvents,
  type StockedProduct,
} from './support/delivery-invariants';
import { OrderLoad } from './support/order-load';
import { OrderStack } from './support/order-stack';
import { invariantFigures, loadFigures, ScenarioRecorder } from './support/reliability-report';
import { buildServices, ServiceProcess } from './support/service-process';

const PARTITIONS = 6;

describe('order consumer crash (kill -9 of a built dist/consumer.js during a burst)', () => {
  let stack: OrderStack | undefined;
  const processes: ServiceProcess[] = [];
  const collectors: MessageCollector[] = [];

  beforeAll(async () => {
    const [built, started] = await Promise.allSettled([buildServices(), OrderStack.start({ name: 'crash', partitions: PARTITIONS })]);
    if (started.status === 'fulfilled') stack = started.value;
    if (built.status === 'rejected') throw built.reason;
    if (started.status === 'rejected') throw started.reason;
  }, 240_000);

  afterAll(async () => {
    for (const p of processes) await p.crash().catch(() => undefined);
    await Promise.allSettled(collectors.map((c) => c.stop()));
    await stack?.close();
  });

  it('when one of two consumers is killed mid-burst, the other takes its partitions and every order is decided and reserved exactly once', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('a-consumer-kill', 'kill -9 of an order consumer during a burst', __filename);
    const products: StockedProduct[] = [
      { productId: await s.product.createProduct(150, '3.33'), initialStock: 150, quantity: 1 },
      { productId: await s.product.createProduct(120, '5.00'), initialStock: 120, quantity: 2 },
    ];
    const load = new OrderLoad(s.api, products);
    const [victim, survivor] = await Promise.all([ServiceProcess.spawn('order-consumer', s.env), ServiceProcess.spawn('order-consumer', s.env)]);
    processes.push(victim!, survivor!);
    report.mark('two consumer processes running');
    const assigned = (p: ServiceProcess) => scrapedTotal(p.port, 'kafka_consumer_assigned_partitions');
    await eventually(async () => expect((await assigned(victim!)) + (await assigned(survivor!))).toBe(PARTITIONS), 30_000, 100);

    const burstFrom = Date.now();
    const burst = load.burst(500, 25);
    const intake = load.stream(2, 50);
    // Both are deciding orders: the victim dies with work in hand.
    await eventually(async () => {
      expect(await scrapedTotal(victim!.port, 'kafka_consumer_messages_processed_total')).toBeGreaterThanOrEqual(30);
      expect(await scrapedTotal(survivor!.port, 'kafka_consumer_messages_processed_total')).toBeGreaterThan(0);
    }, 60_000, 50);
    const victimPartitions = await assigned(victim!);
    await victim!.crash();
    const killedAt = Date.now();
    report.mark(`kill -9 of consumer pid ${victim!.pid} (it owned ${victimPartitions} of ${PARTITIONS} partitions)`, killedAt);
    const atKill = await s.countByStatus();
    expect(atKill.pending ?? 0).toBeGreaterThan(0); // it really died mid-stream
    report.observe('orders pending at the kill', atKill.pending ?? 0);

    // The group notices the dead member after its session timeout and gives its partitions to the survivor.
    await eventually(async () => expect(await assigned(survivor!)).toBe(PARTITIONS), 30_000, 100);
    const takeoverAt = Date.now();
    report.mark('the survivor owns all partitions', takeoverAt);
    await burst;
    await intake.stop();
    report.span('intake (async)', burstFrom, Date.now());

    expect(load.refused).toEqual([]); // intake never depended on the consumers
    const statuses = await expectDrainedDeliveryInvariants(s, load.accepted, products);
    report.mark('every accepted order decided');

    // The product service took each confirmed order's stock once (its stock_reserved events) and no other.
    const { orderEvents, productEvents } = await publishedEvents(s, collectors);
    // The victim's relay may have been killed between sending a decision and deleting its row: a copy with the same event id.
    expectOneDecisionPerOrder(orderEvents, statuses, { republishAllowed: true });
    expectOneReservationPerConfirmedOrder(productEvents, statuses);
    const deadLettered = await messagesIn(s.kafka, s.dlqTopic);
    expect(deadLettered).toBe(0);

    // The survivor shuts down cleanly on SIGTERM (commits offsets, flushes, exits 0).
    expect(await survivor!.terminate()).toBe(0);

    report.clients('async intake (POST /orders/async)', loadFigures(load));
    report.observe('seconds from the kill until the survivor owned every partition', ScenarioRecorder.seconds(killedAt, takeoverAt));
    report.invariants(await invariantFigures(s, load.accepted, products, { orderEvents: orderEvents, deadLettered }));
    await report.write();
  }, 180_000);
});
