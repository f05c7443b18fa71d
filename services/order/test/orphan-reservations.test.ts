/**
 * Stock held for an order that was never recorded — the order API died between reserving at the product
 * service and committing the order — is released by the order API's orphan sweep, and only that stock.
 */
import { eventually } from '@eshop/test-support';
import { randomUUID } from 'node:crypto';
import { loadOrderConfig } from '../src/config';
import { anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('orphan reservation sweep', () => {
  let stack: OrderStack;
  let productId: number;

  beforeAll(async () => {
    stack = await OrderStack.start({
      name: 'orphans',
      env: { ORDER_ORPHAN_SWEEP_INTERVAL_MS: '300', ORDER_ORPHAN_RESERVATION_AGE_MS: '4000', ORDER_IDEMPOTENCY_LEASE_MS: '1000' },
    });
    productId = await stack.product.createProduct(100, '3.00');
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** What a dying order API leaves behind: a reservation under an order id no order row will ever have. */
  async function reserveWithoutOrder(quantity: number): Promise<string> {
    const orderId = randomUUID();
    const res = await fetch(`${stack.product.url}/internal/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order_id: orderId, items: [{ product_id: productId, quantity }] }),
    });
    expect(res.status).toBe(201);
    return orderId;
  }

  const reservationStatus = async (orderId: string) => ((await (await fetch(`${stack.product.url}/internal/reservations/${orderId}`)).json()) as { status: string }).status;

  it('releases the orphan once it is old enough, keeps every recorded order\'s stock, and refuses a late recording of that id', async () => {
    const sync = await stack.api.post('/orders', anOrder('u-1', [[productId, 2]]));
    const async = await stack.api.post('/orders/async', anOrder('u-2', [[productId, 3]]));
    expect(sync.status).toBe(201);
    expect(async.status).toBe(202);
    const orphan = await reserveWithoutOrder(7);
    const held = await stack.product.stockOf(productId);

    // Younger than ORDER_ORPHAN_RESERVATION_AGE_MS: a retry could still be recording it.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await reservationStatus(orphan)).toBe('reserved');

    await eventually(async () => expect(await reservationStatus(orphan)).toBe('released'), 20_000);
    expect(await stack.product.stockOf(productId)).toBe(held + 7);
    expect(await reservationStatus(sync.body.id)).toBe('reserved');

    // The released id is a tombstone: the dead request's order can never be confirmed without stock.
    const late = await fetch(`${stack.product.url}/internal/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order_id: orphan, items: [{ product_id: productId, quantity: 7 }] }),
    });
    expect(late.status).toBe(409);

    const metrics = await (await fetch(`${stack.api.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^order_orphan_reservations_released_total\{service="order-service"\} 1$/m);
  }, 60_000);

  it('refuses an orphan age that a retried request could still be inside', () => {
    expect(() => loadOrderConfig({ ...stack.env, ORDER_ORPHAN_RESERVATION_AGE_MS: '30000', ORDER_IDEMPOTENCY_LEASE_MS: '30000' })).toThrow(/must exceed ORDER_IDEMPOTENCY_LEASE_MS/);
  });
});
