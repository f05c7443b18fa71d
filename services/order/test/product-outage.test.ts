import { eventually } from '@eshop/test-support';
import { aUserId, anOrder } from './support/factories';
import { mapConcurrent } from '@eshop/test-support';
import { OrderStack } from './support/order-stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('product service outage', () => {
  let stack: OrderStack;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'outage', env: { PRODUCT_SERVICE_TIMEOUT_MS: '1000', ORDER_RETRY_AFTER_SECONDS: '7' } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('when the product service stops during async processing, orders stay pending and all complete once it is back', async () => {
    const stock = 100;
    const productId = await stack.product.createProduct(stock, '9.99');
    const accepted = await mapConcurrent(Array.from({ length: 300 }), 50, () =>
      stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]])),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    const consumer = await stack.startConsumer();
    await eventually(async () => {
      const counts = await stack.countByStatus();
      expect((counts.confirmed ?? 0) + (counts.rejected ?? 0)).toBeGreaterThanOrEqual(30);
    }, 60_000, 50);

    await stack.product.stop();
    await sleep(1500); // requests in flight at the stop have finished; later ones fail and are retried
    const during = await stack.countByStatus();
    await sleep(2000);
    const later = await stack.countByStatus();

    expect(during.pending ?? 0).toBeGreaterThan(0);
    expect(later).toEqual(during); // nothing decided, nothing rejected for the outage
    const ready = await fetch(`http://127.0.0.1:${consumer.port}/readyz`);
    expect(ready.status).toBe(200); // a downstream outage is not a reason to restart or unroute the consumer

    await stack.product.restart();
    await eventually(async () => expect((await stack.countByStatus()).pending ?? 0).toBe(0), 90_000, 250);

    expect(await stack.countByStatus()).toEqual({ confirmed: stock, rejected: 300 - stock });
    expect(await stack.product.stockOf(productId)).toBe(0);
    const reasons = await stack.db.query<{ reason: string }>(`SELECT DISTINCT reason FROM orders WHERE status = 'rejected'`);
    expect(reasons.map((r) => r.reason)).toEqual([`insufficient_stock: product ${productId}`]);
    const metrics = await (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text();
    const retries = /^kafka_consumer_message_retries_total\{[^}]*\} (\d+)$/m.exec(metrics);
    expect(Number(retries?.[1])).toBeGreaterThan(0);
  }, 180_000);

  it('while the product service is down, a sync order gets 503 with Retry-After and nothing is written', async () => {
    const productId = await stack.product.createProduct(5);
    const before = await stack.countByStatus();
    await stack.product.stop();
    try {
      const res = await stack.api.post('/orders', anOrder(aUserId(), [[productId, 1]]), { 'Idempotency-Key': 'outage-sync-1' });

      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(res.body).toMatchObject({ code: 'product_service_unavailable' });
      expect(await stack.countByStatus()).toEqual(before);
      const keys = await stack.db.query('SELECT * FROM idempotency_keys WHERE idempotency_key = ?', ['outage-sync-1']);
      expect(keys).toHaveLength(0); // a retry with the same key runs afresh
    } finally {
      await stack.product.restart();
    }
    const retry = await stack.api.post('/orders', anOrder(aUserId(), [[productId, 1]]), { 'Idempotency-Key': 'outage-sync-2' });
    expect(retry.status).toBe(201);
    expect(await stack.product.stockOf(productId)).toBe(4);
  });

  it('while the product service is down, confirming a pending order through the API gets 503 and it stays pending', async () => {
    await stack.stopConsumers();
    const productId = await stack.product.createProduct(5);
    const order = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 2]]));
    await stack.product.stop();
    try {
      const res = await stack.api.put(`/orders/${order.body.id}/status`, { status: 'confirmed' });

      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'product_service_unavailable' });
      expect((await stack.api.get(`/orders/${order.body.id}`)).body.status).toBe('pending');
    } finally {
      await stack.product.restart();
    }
    const confirmed = await stack.api.put(`/orders/${order.body.id}/status`, { status: 'confirmed' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'confirmed', total: '39.98' });
  });
});
