import { addToContext } from '@eshop/common';
import { uuidv7 } from 'uuidv7';
import type { OrderDependencies } from './dependencies';
import { keyReused, type IdempotencyKey } from './idempotency';
import { orderRepresentation, type Order } from './order';
import { orderPlaced } from './order-events';
import type { PlaceOrderRequest, PlaceOrderResult } from './place-order';

/**
 * POST /orders/async: record the order pending with its lines and an order.placed event (keyed by
 * order id) in one transaction, and answer 202. Never calls the product service: the order consumers
 * reserve the stock. With an Idempotency-Key the key and its 202 response are stored in the same
 * transaction, so a duplicate waits for it on the key's row lock and then replays it.
 */
export async function acceptAsyncOrder(deps: OrderDependencies, request: PlaceOrderRequest, key?: IdempotencyKey): Promise<PlaceOrderResult> {
  const now = new Date();
  const order: Order = {
    id: uuidv7(),
    userId: request.userId,
    status: 'pending',
    mode: 'async',
    reason: null,
    total: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    items: request.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, name: null, unitPrice: null, lineTotal: null })),
  };
  addToContext({ orderId: order.id });
  const response = { status: 202, body: orderRepresentation(order) };

  const stored = await deps.transact(async (tx) => {
    if (key && !(await deps.idempotency.insertCompleted(tx, { ...key, orderId: order.id }, response))) return false;
    await deps.orders.insert(tx, order);
    await deps.outbox.enqueue(tx, [orderPlaced(deps.topic, order)]);
    return true;
  });
  if (stored) {
    deps.metrics.orders.inc({ mode: 'async', outcome: 'accepted' });
    return { response, replayed: false };
  }

  const existing = key ? await deps.idempotency.find(key.scope, key.key) : undefined;
  if (!key || !existing?.response) throw new Error('Idempotency-Key exists but has no recorded response');
  if (existing.requestHash !== key.requestHash) throw keyReused(key);
  return { response: existing.response, replayed: true };
}
