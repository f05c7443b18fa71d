import { eventually } from '@eshop/test-support';
import { ConsumerProcess, buildOrderService } from './support/consumer-process';
import { aUserId, anOrder } from './support/factories';
import { mapConcurrent } from '@eshop/test-support';
import { OrderStack } from './support/order-stack';

describe('order consumer crash (kill -9 of the built dist/consumer.js)', () => {
  let stack: OrderStack;
  const processes: ConsumerProcess[] = [];

  beforeAll(async () => {
    const [built, started] = await Promise.allSettled([buildOrderService(), OrderStack.start({ name: 'crash' })]);
    if (started.status === 'fulfilled') stack = started.value;
    if (built.status === 'rejected') throw built.reason;
    if (started.status === 'rejected') throw started.reason;
  }, 240_000);

  afterAll(async () => {
    for (const p of processes) await p.crash().catch(() => undefined);
    await stack?.close();
  });

  it('when a consumer is killed mid-stream and a new one takes over, exactly the stock is confirmed and nothing is reserved twice', async () => {
    const stock = 150;
    const productId = await stack.product.createProduct(stock, '3.33');
    const accepted = await mapConcurrent(Array.from({ length: 500 }), 50, () =>
      stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]])),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    const ids = accepted.map((r) => r.body.id as string);

    const first = await ConsumerProcess.spawn(stack.env);
    processes.push(first);
    await eventually(async () => {
      const counts = await stack.countByStatus();
      expect((counts.confirmed ?? 0) + (counts.rejected ?? 0)).toBeGreaterThanOrEqual(60);
    }, 60_000, 50);
    await first.crash();
    const atCrash = await stack.countByStatus();
    expect(atCrash.pending ?? 0).toBeGreaterThan(0); // it really died mid-stream

    const second = await ConsumerProcess.spawn(stack.env);
    processes.push(second);
    await eventually(async () => expect((await stack.countByStatus()).pending ?? 0).toBe(0), 90_000, 250);

    expect(await stack.countByStatus()).toEqual({ confirmed: stock, rejected: 500 - stock });
    const statuses = await stack.statusesOf(ids);
    const confirmed = ids.filter((id) => statuses.get(id) === 'confirmed');
    const reservations = await stack.product.reservationsOf(productId);
    expect(reservations.reserved.sort()).toEqual(confirmed.sort());
    expect(reservations.unitsHeld).toBe(stock);
    expect(await stack.product.stockOf(productId)).toBe(0);
    const [lines] = await stack.product.db.query<{ n: number; orders: number }>(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT order_id) AS orders FROM reservation_items WHERE product_id = ?',
      [productId],
    );
    expect(Number(lines?.n)).toBe(Number(lines?.orders)); // one line per order: no order reserved twice

    // The survivor shuts down cleanly on SIGTERM (commits offsets, flushes, exits 0).
    expect(await second.terminate()).toBe(0);
  }, 180_000);
});
