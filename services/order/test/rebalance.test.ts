import { eventually, MessageCollector, testKafka } from '@eshop/test-support';
import type { RunningOrderConsumer } from '../src/consumer-service';
import { metricTotal } from './support/consumer-metrics';
import {
  expectDeliveryInvariants,
  expectOneDecisionPerOrder,
  expectOneReservationPerConfirmedOrder,
  messagesIn,
  type StockedProduct,
} from './support/delivery-invariants';
import { LatencyProxy } from './support/latency-proxy';
import { OrderLoad } from './support/order-load';
import { OrderStack } from './support/order-stack';

const ORDERS = 700;
/** Orders decided after each change of the group before the next one: enough to see every member work. */
const STEP = 50;
const PARTITIONS = 6;

describe('consumer group rebalances while a backlog is processed', () => {
  let stack: OrderStack;
  let slowProduct: LatencyProxy;
  let events: MessageCollector;
  let productEvents: MessageCollector;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'rebalance', partitions: PARTITIONS });
    // ~100 ms per reservation caps the group at ~60 orders/s (6 partitions, one order at a time each),
    // so the backlog outlasts three rebalances even if each lets the old members run on for a heartbeat (3 s).
    slowProduct = await LatencyProxy.start(stack.product.url, 100);
    [events, productEvents] = await Promise.all([
      new MessageCollector(stack.topic).start(),
      new MessageCollector(stack.product.topic).start(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([events?.stop(), productEvents?.stop(), stack?.close()]);
    await slowProduct?.close();
  });

  it('when a second and a third consumer join and one leaves mid-stream, every order is decided, reserved and published once', async () => {
    const products: StockedProduct[] = [
      { productId: await stack.product.createProduct(150, '2.50'), initialStock: 150, quantity: 1 },
      { productId: await stack.product.createProduct(160, '7.00'), initialStock: 160, quantity: 2 },
    ];
    const load = new OrderLoad(stack.api, products);
    await load.burst(ORDERS, 50);
    expect(load.accepted).toHaveLength(ORDERS);

    const decided = async () => {
      const counts = await stack.countByStatus();
      return { decided: (counts.confirmed ?? 0) + (counts.rejected ?? 0), pending: counts.pending ?? 0 };
    };
    const partitionsOf = (consumer: RunningOrderConsumer) => metricTotal([consumer], 'kafka_consumer_assigned_partitions');
    /** Waits until `consumer` owns partitions (the rebalance is done) and `orders` more were decided since; work must be left. */
    const progress = async (consumer: RunningOrderConsumer, orders: number) => {
      await eventually(async () => expect(await partitionsOf(consumer)).toBeGreaterThan(0), 30_000, 50);
      const from = (await decided()).decided;
      await eventually(async () => expect((await decided()).decided).toBeGreaterThanOrEqual(from + orders), 30_000, 50);
      expect((await decided()).pending).toBeGreaterThan(0); // still mid-stream
    };
    const env = { PRODUCT_SERVICE_URL: slowProduct.url };

    const first = await stack.startConsumer(env);
    await progress(first, STEP);
    const second = await stack.startConsumer(env); // rebalance: 6 partitions over 2
    await progress(second, STEP);
    const third = await stack.startConsumer(env); // rebalance: 6 over 3
    await progress(third, STEP);
    const all = [first, second, third];
    stack.consumers.splice(stack.consumers.indexOf(first), 1);
    await first.stop(); // graceful: commits what it handled, leaves the group; 6 over 2
    expect((await decided()).pending).toBeGreaterThan(0);
    await eventually(async () => expect(await partitionsOf(second) + (await partitionsOf(third))).toBe(PARTITIONS), 30_000, 100);

    await eventually(async () => expect((await decided()).pending).toBe(0), 60_000, 250);
    const statuses = await eventually(() => expectDeliveryInvariants(stack, load.accepted, products), 10_000, 250);
    for (const consumer of all) expect(await metricTotal([consumer], 'kafka_consumer_messages_processed_total')).toBeGreaterThan(0);
    expect(await messagesIn(testKafka(), stack.dlqTopic)).toBe(0);

    // Redeliveries after a rebalance are fine; a second reservation or decision is not.
    await events.waitFor(await messagesIn(testKafka(), stack.topic), 30_000);
    expectOneDecisionPerOrder(events.messages, statuses, { republishAllowed: false });
    await eventually(async () => {
      const [outbox] = await stack.product.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
      expect(Number(outbox?.n)).toBe(0);
    }, 30_000, 100);
    await productEvents.waitFor(await messagesIn(testKafka(), stack.product.topic), 30_000);
    expectOneReservationPerConfirmedOrder(productEvents.messages, statuses);
  }, 180_000);
});
