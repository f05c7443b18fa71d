import { eventually, MessageCollector } from '@eshop/test-support';
import { aUserId, anOrder } from './support/factories';
import { mapConcurrent } from '@eshop/test-support';
import { OrderStack } from './support/order-stack';

describe('async orders: POST /orders/async accepts, the order consumers reserve', () => {
  let stack: OrderStack;
  let events: MessageCollector;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'async' });
    events = await new MessageCollector(stack.topic).start();
  });

  afterAll(async () => {
    await events?.stop();
    await stack?.close();
  });

  it('when 1,000 async orders of 1 unit race for 300 in stock, all get 202 and exactly 300 are confirmed', async () => {
    const productId = await stack.product.createProduct(300, '12.34');

    // Intake with no consumer running: the API must not need the product service or the consumers.
    const accepted = await mapConcurrent(Array.from({ length: 1000 }), 50, () =>
      stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]])),
    );

    expect(accepted.map((r) => r.status)).toEqual(Array(1000).fill(202));
    for (const res of accepted) {
      expect(res.headers.get('location')).toBe(`/orders/${res.body.id}`);
      expect(res.body).toMatchObject({ status: 'pending', mode: 'async', total: null, reason: null });
    }
    const ids = accepted.map((r) => r.body.id as string);
    expect(new Set(ids).size).toBe(1000);
    const early = await stack.api.get(`/orders/${ids[500]}`);
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ id: ids[500], status: 'pending', items: [{ product_id: productId, quantity: 1, unit_price: null }] });
    expect(await stack.product.stockOf(productId)).toBe(300);

    const consumer = await stack.startConsumer();
    await eventually(async () => expect((await stack.countByStatus()).pending ?? 0).toBe(0), 90_000, 250);

    const counts = await stack.countByStatus();
    expect(counts).toEqual({ confirmed: 300, rejected: 700 });
    expect(await stack.product.stockOf(productId)).toBe(0);
    const statuses = await stack.statusesOf(ids);
    const confirmed = ids.filter((id) => statuses.get(id) === 'confirmed');
    const reservations = await stack.product.reservationsOf(productId);
    expect(reservations.reserved.sort()).toEqual(confirmed.sort());
    expect(reservations.unitsHeld).toBe(300);

    const sample = await stack.api.get(`/orders/${confirmed[0]}`);
    expect(sample.body).toMatchObject({ status: 'confirmed', total: '12.34', items: [{ unit_price: '12.34', line_total: '12.34' }] });
    const rejected = ids.find((id) => statuses.get(id) === 'rejected')!;
    expect((await stack.api.get(`/orders/${rejected}`)).body).toMatchObject({
      status: 'rejected',
      reason: `insufficient_stock: product ${productId}`,
      total: null,
    });

    // Every decision was published, keyed by order id.
    await eventually(() => {
      const decided = events.messages.filter((m) => m.headers['event-type'] === 'order.confirmed' || m.headers['event-type'] === 'order.rejected');
      expect(new Set(decided.map((m) => m.key)).size).toBe(1000);
    }, 30_000);
    const confirmedEvents = new Set(events.messages.filter((m) => m.headers['event-type'] === 'order.confirmed').map((m) => m.key));
    expect([...confirmedEvents].sort()).toEqual(confirmed.sort());

    const metrics = await (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text();
    expect(metrics).toMatch(/^orders_total\{[^}]*mode="async",outcome="confirmed"[^}]*\} 300$/m);
    expect(metrics).toMatch(/^orders_total\{[^}]*mode="async",outcome="rejected"[^}]*\} 700$/m);
    expect(metrics).toMatch(/^order_async_confirmation_seconds_count\{[^}]*outcome="confirmed"[^}]*\} 300$/m);
    expect(metrics).toMatch(/^order_status_transitions_total\{[^}]*from="pending",to="confirmed"[^}]*\} 300$/m);
    expect(metrics).toMatch(/^order_value_amount_sum\{[^}]*mode="async"[^}]*\} 3702(\.0+\d*)?$/m);
    expect(metrics).toMatch(/^kafka_consumer_lag_messages\{/m);
    expect(metrics).toMatch(/^kafka_consumer_messages_processed_total\{/m);
  });

  it('the consumer process answers /healthz and /readyz on its own port', async () => {
    const consumer = stack.consumers[0] ?? (await stack.startConsumer());

    const health = await fetch(`http://127.0.0.1:${consumer.port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${consumer.port}/readyz`);

    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', kafka: 'ok' } });
  });

  it('an order with several lines is confirmed with every line priced, or rejected naming the short product', async () => {
    const a = await stack.product.createProduct(10, '1.10');
    const b = await stack.product.createProduct(1, '2.20');
    const decided = async (id: string) =>
      eventually(async () => {
        const res = await stack.api.get(`/orders/${id}`);
        expect(res.body.status).not.toBe('pending');
        return res.body;
      }, 30_000);

    // One after the other: orders on different partitions are decided in any order.
    const fits = await stack.api.post('/orders/async', anOrder(aUserId(), [[a, 2], [b, 1]]));
    expect(await decided(fits.body.id)).toMatchObject({ status: 'confirmed', total: '4.40' });
    const short = await stack.api.post('/orders/async', anOrder(aUserId(), [[a, 1], [b, 1]]));
    expect(await decided(short.body.id)).toMatchObject({ status: 'rejected', reason: `insufficient_stock: product ${b}` });
    expect(await stack.product.stockOf(a)).toBe(8);
    expect(await stack.product.stockOf(b)).toBe(0);
  });
});
