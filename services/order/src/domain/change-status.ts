import { addToContext, AppError, type Identity } from '@eshop/common';
import { ProductServiceUnavailableError } from '../clients/product-client';
import type { OrderDependencies } from './dependencies';
import type { Order } from './order';
import { assertMayChangeStatus } from './order-access';
import { orderStatusChanged } from './order-events';
import { assertTransition, canTransition, nextStatuses, type OrderStatus } from './order-status';
import { recordOutcome, settlePendingOrder } from './process-order-placed';
import { productServiceUnavailable, refusalProblem } from './refusals';

export interface StatusChangeRequest {
  status: OrderStatus;
  /** Stored for rejected and cancelled orders. */
  reason?: string;
}

/** Reason stored when a pending order is rejected through the API without one. */
export const DEFAULT_API_REJECTION_REASON = 'rejected_by_request';

/**
 * PUT /orders/:id/status. The transition must be legal from the current status; the update is
 * conditional on that status, so of two concurrent changes exactly one wins and the other gets 409.
 * pending → confirmed runs the same reservation use case as the order consumers. Every change commits
 * with its order.<status> event; order.cancelled and order.rejected make the consumers release the stock.
 */
export async function changeStatus(deps: OrderDependencies, id: string, request: StatusChangeRequest, actor: Identity): Promise<Order> {
  addToContext({ orderId: id });
  const order = await deps.orders.find(id);
  if (!order) throw AppError.notFound('order', id);
  assertMayChangeStatus(actor, order, request.status);
  assertTransition(order.status, request.status);

  if (order.status === 'pending' && request.status === 'confirmed') return confirmPending(deps, order);

  const reason = request.status === 'rejected' ? (request.reason ?? DEFAULT_API_REJECTION_REASON) : request.reason;
  const changed = await deps.transact(async (tx) => {
    if (!(await deps.orders.transition(tx, id, order.status, request.status, reason === undefined ? {} : { reason }))) return undefined;
    const after = await deps.orders.find(id, tx);
    if (!after) throw new Error(`order ${id} vanished inside its own transaction`);
    await deps.outbox.enqueue(tx, [orderStatusChanged(deps.topic, after, order.status)]);
    return after;
  });
  if (!changed) throw await changedMeanwhile(deps, order, request.status);

  if (order.status === 'pending') recordOutcome(deps, changed);
  else deps.metrics.transitions.inc({ from: order.status, to: changed.status });
  return changed;
}

async function confirmPending(deps: OrderDependencies, order: Order): Promise<Order> {
  let result;
  try {
    result = await settlePendingOrder(deps, order.id);
  } catch (err) {
    if (err instanceof ProductServiceUnavailableError) throw productServiceUnavailable(err, deps.retryAfterSeconds);
    throw err;
  }
  switch (result.kind) {
    case 'confirmed':
      return result.order;
    case 'rejected':
      // The same decision the consumers would have taken: the order is now rejected, and the client learns why.
      throw refusalProblem(result.refusal, result.order.items, { order_status: result.order.status, reason: result.order.reason });
    case 'not_pending':
      if (result.order.status === 'confirmed') return result.order; // someone else confirmed it: the outcome asked for
      throw await changedMeanwhile(deps, order, 'confirmed');
    case 'not_found':
      throw AppError.notFound('order', order.id);
  }
}

/** 409 for a lost race: the status changed between our read and our conditional update. */
async function changedMeanwhile(deps: OrderDependencies, before: Order, requested: OrderStatus): Promise<AppError> {
  const current = await deps.orders.find(before.id);
  if (!current) return AppError.notFound('order', before.id);
  if (!canTransition(current.status, requested)) {
    try {
      assertTransition(current.status, requested);
    } catch (err) {
      return err as AppError;
    }
  }
  return new AppError({
    status: 409,
    code: 'concurrent_status_change',
    detail: `the order changed from ${before.status} to ${current.status} while this request ran; send it again if ${requested} is still wanted`,
    field: 'status',
    extensions: { current_status: current.status, requested_status: requested, allowed: [...nextStatuses(current.status)] },
  });
}
