import { annotateSpan, inSpan, rejectSpan } from '@eshop/common';
import type { OrderDependencies } from './dependencies';
import { priceLines, type Order } from './order';
import { orderStatusChanged } from './order-events';
import { observeValue } from './order-metrics';
import { rejectionReason, type Refusal } from './refusals';

export type SettleResult =
  | { kind: 'not_found' }
  /** The order was not (or no longer) pending: a redelivery, or a change through the API won. */
  | { kind: 'not_pending'; order: Order }
  | { kind: 'confirmed'; order: Order }
  | { kind: 'rejected'; order: Order; refusal: Refusal };

/**
 * Decides a pending order: reserve its stock (idempotent by order id, so a crash between reserving and
 * recording never reserves twice), then move it pending → confirmed with the reserved prices, or
 * pending → rejected with the reason, in one transaction with its event. The update is conditional on
 * the order still being pending; if it was rejected meanwhile, the reservation just taken is released.
 * A ProductServiceUnavailableError or database error propagates: the caller retries, the order stays pending.
 * Used by the order consumers (order.placed) and by PUT /orders/:id/status {confirmed}.
 */
export function settlePendingOrder(deps: OrderDependencies, orderId: string): Promise<SettleResult> {
  // One span per decision (order.id, order.status; red with the reason when rejected), the parent of the
  // reservation call and of the transition's transaction.
  return inSpan('decide order', { attributes: { 'order.id': orderId, 'order.mode': 'async' } }, () => settle(deps, orderId));
}

async function settle(deps: OrderDependencies, orderId: string): Promise<SettleResult> {
  const order = await deps.orders.find(orderId);
  if (!order) return { kind: 'not_found' };
  if (order.status !== 'pending') return { kind: 'not_pending', order };

  const outcome = await deps.inventory.reserve(order.id, order.items);
  if (outcome.kind === 'reserved') {
    const priced = priceLines(order.items, outcome.items);
    const confirmed = await moveFromPending(deps, order.id, 'confirmed', { priced });
    if (!confirmed) return lostRace(deps, order.id, true);
    recordOutcome(deps, confirmed);
    return { kind: 'confirmed', order: confirmed };
  }

  const rejected = await moveFromPending(deps, order.id, 'rejected', { reason: rejectionReason(outcome) });
  if (!rejected) return lostRace(deps, order.id, false);
  recordOutcome(deps, rejected);
  return { kind: 'rejected', order: rejected, refusal: outcome };
}

async function moveFromPending(
  deps: OrderDependencies,
  id: string,
  to: 'confirmed' | 'rejected',
  change: Parameters<OrderDependencies['orders']['transition']>[4],
): Promise<Order | undefined> {
  return deps.transact(async (tx) => {
    if (!(await deps.orders.transition(tx, id, 'pending', to, change))) return undefined;
    const after = await deps.orders.find(id, tx);
    if (!after) throw new Error(`order ${id} vanished inside its own transaction`);
    await deps.outbox.enqueue(tx, [orderStatusChanged(deps.topic, after, 'pending')]);
    return after;
  });
}

async function lostRace(deps: OrderDependencies, id: string, reserved: boolean): Promise<SettleResult> {
  const current = await deps.orders.find(id);
  if (!current) throw new Error(`order ${id} disappeared`);
  // Rejected through the API while we reserved: give the stock back. (A confirmation by someone else
  // used the same reservation, which is idempotent by order id, so there is nothing to undo then.)
  if (reserved && current.status === 'rejected') {
    await deps.inventory.release(id);
    deps.logger.info({ orderId: id }, 'order was rejected while its stock was being reserved; reservation released');
  }
  return { kind: 'not_pending', order: current };
}

/** Counts a pending order that got decided (confirmed or rejected), however it was decided. */
export function recordOutcome(deps: OrderDependencies, order: Order): void {
  const outcome = order.status === 'confirmed' ? 'confirmed' : 'rejected';
  annotateSpan({ 'order.status': order.status });
  if (outcome === 'rejected') rejectSpan(`order rejected: ${order.reason ?? 'unknown reason'}`);
  deps.metrics.orders.inc({ mode: order.mode, outcome });
  deps.metrics.transitions.inc({ from: 'pending', to: order.status });
  deps.metrics.asyncConfirmation.observe({ outcome }, Math.max(0, Date.now() - order.createdAt.getTime()) / 1000);
  if (outcome === 'confirmed') observeValue(deps.metrics, order.mode, order.total);
}
