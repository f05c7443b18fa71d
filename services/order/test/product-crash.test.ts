import { eventually, MessageCollector, type CollectedMessage } from '@eshop/test-support';
import { metricTotal } from './support/consumer-metrics';
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
import { eventFigures, invariantFigures, loadFigures, ScenarioRecorder } from './support/reliability-report';
import { buildServices, ServiceProcess } from './support/service-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long the killed product service stays away before it is started again (a supervisor's restart). */
const DOWN_MS = 3000;

/** One copy of each event id: what a consumer that deduplicates by event id sees. */
function distinctEvents(messages: readonly CollectedMessage[]): CollectedMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const id = m.headers['event-id'] ?? '';
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

describe('product service crash (kill -9 of a built dist/main.js) during sync orders', () => {
  let stack: OrderStack | undefined;
  let product: ServiceProcess | undefined;
  const collectors: MessageCollector[] = [];

  beforeAll(async () => {
    const [built, started] = await Promise.allSettled([buildServices(), OrderStack.start({ name: 'pcrash', env: { ORDER_RETRY_AFTER_SECONDS: '2' } })]);
    if (started.status === 'fulfilled') stack = started.value;
    if (built.status === 'rejected') throw built.reason;
    if (started.status === 'rejected') throw started.reason;
    // The order API and consumer keep calling the same address; behind it now runs a process of its own.
    await stack!.product.stop();
    product = await ServiceProcess.spawn('product', { ...stack!.product.env, PRODUCT_SERVICE_PORT: String(stack!.product.port) });
  }, 240_000);

  afterAll(async () => {
    await product?.crash().catch(() => undefined);
    await Promise.allSettled(collectors.map((c) => c.stop()));
    await stack?.close();
  });

  it('when the product service is killed mid-request, sync clients get 503 + Retry-After, their retries succeed, and no stock is taken without an order', async () => {
    const s = stack!;
    const report = new ScenarioRecorder('b-product-kill', 'kill -9 of the product service during sync orders', __filename);
    const forSync: StockedProduct = { productId: await s.product.createProduct(2000, '2.50'), initialStock: 2000, quantity: 1 };
    const forAsync: StockedProduct = { productId: await s.product.createProduct(40, '4.00'), initialStock: 40, quantity: 1 };
    const products = [forSync, forAsync];
    await s.startConsumer();
    const syncLoad = new OrderLoad(s.api, [forSync], { mode: 'sync' });
    const asyncLoad = new OrderLoad(s.api, [forAsync]);
    report.mark(`product service running as pid ${product!.pid}`);

    const intakeFrom = Date.now();
    const syncIntake = syncLoad.stream(6, 10);
    const asyncIntake = asyncLoad.stream(1, 100);
    let killedAt = 0;
    let upAt = 0;
    try {
      await eventually(() => expect(syncLoad.accepted.length).toBeGreaterThanOrEqual(60), 30_000, 20);
      const victim = product!;
      killedAt = Date.now();
      await victim.crash();
      report.mark(`kill -9 of the product service (pid ${victim.pid}) with sync orders in flight`, killedAt);
      await sleep(killedAt + DOWN_MS - Date.now());
      product = await ServiceProcess.spawn('product', { ...s.product.env, PRODUCT_SERVICE_PORT: String(s.product.port) });
      upAt = Date.now();
      report.mark(`product service started again (pid ${product.pid})`, upAt);
      report.span('product service away', killedAt, upAt);
      const acceptedAtRestart = syncLoad.accepted.length;
      await eventually(() => expect(syncLoad.accepted.length).toBeGreaterThanOrEqual(acceptedAtRestart + 30), 30_000, 20);
    } finally {
      await Promise.all([syncIntake.stop(), asyncIntake.stop()]);
    }
    report.span('intake (sync and async)', intakeFrom, Date.now());

    // While it was away, sync clients were told to come back later (the order API's answer), nothing else.
    expect(syncLoad.refused.length).toBeGreaterThan(0);
    const unexpected = syncLoad.refused.filter(
      (r) => r.status !== 503 || (r.body as { code?: string } | undefined)?.code !== 'product_service_unavailable' || r.at < killedAt,
    );
    expect(unexpected).toEqual([]);
    expect(asyncLoad.refused).toEqual([]); // async intake never calls the product service
    // Retried with their Idempotency-Keys, as Retry-After asks, every refused request becomes an order.
    await syncLoad.retryRefused();
    expect(syncLoad.refused.filter((r) => r.retryStatus !== 201)).toEqual([]);

    const accepted = [...syncLoad.accepted, ...asyncLoad.accepted];
    const statuses = await expectDrainedDeliveryInvariants(s, accepted, products);
    report.mark('every accepted order decided');
    // Stock held without an order: a reservation the killed process committed but never answered, not given back.
    const orphans = await s.product.db.query<{ order_id: string }>(
      `SELECT r.order_id FROM reservations r JOIN reservation_items i ON i.order_id = r.order_id
        WHERE r.status = 'reserved' AND i.product_id IN (?)`,
      [products.map((p) => p.productId)],
    );
    expect(orphans.map((r) => r.order_id).filter((id) => statuses.get(id) !== 'confirmed')).toEqual([]);
    expect(await metricTotal([s.service, ...s.consumers], 'order_compensation_failures_total')).toBe(0);
    // Compensations of requests whose answer the kill swallowed: stock given back, or a tombstone where none was taken.
    const [compensated] = await s.product.db.query<{ released: number; tombstones: number }>(
      `SELECT COUNT(i.order_id) AS released, COUNT(*) - COUNT(i.order_id) AS tombstones
         FROM reservations r LEFT JOIN reservation_items i ON i.order_id = r.order_id WHERE r.status = 'released'`,
    );

    const { orderEvents, productEvents } = await publishedEvents(s, collectors);
    expectOneDecisionPerOrder(orderEvents, statuses, { republishAllowed: false });
    // The killed product service's relay may re-send what it had sent but not yet deleted: same event ids.
    expectOneReservationPerConfirmedOrder(distinctEvents(productEvents), statuses);

    report.clients('sync intake (POST /orders, with Idempotency-Keys)', loadFigures(syncLoad));
    report.clients('async intake (POST /orders/async)', loadFigures(asyncLoad));
    const productFigures = eventFigures(productEvents);
    report.observe('product events (messages)', productFigures.messages);
    report.observe('compensations of requests whose answer was lost', {
      'stock given back': Number(compensated?.released),
      'nothing had been reserved (tombstone)': Number(compensated?.tombstones),
    });
    report.observe('product events re-sent by the restarted relay (same event id)', productFigures.republishedCopies);
    report.invariants(await invariantFigures(s, accepted, products, { orderEvents: orderEvents, deadLettered: await messagesIn(s.kafka, s.dlqTopic) }));
    await report.write();
  }, 180_000);
});
