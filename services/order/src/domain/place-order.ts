import { addToContext, annotateSpan, AppError, ER_DUP_ENTRY, inSpan, rejectSpan, sqlErrno, toProblem } from '@eshop/common';
import { uuidv7 } from 'uuidv7';
import { ProductServiceUnavailableError } from '../clients/product-client';
import type { OrderDependencies } from './dependencies';
import { claimKey, type IdempotencyKey, type RecordedResponse } from './idempotency';
import { orderRepresentation, priceLines, type Order, type OrderLine, type ReservedItem } from './order';
import { orderStatusChanged } from './order-events';
import { observeValue } from './order-metrics';
import { productServiceUnavailable, refusalProblem } from './refusals';

export interface PlaceOrderRequest {
  userId: string;
  lines: OrderLine[];
}

/** The response to send: the order just placed, or the one recorded for this Idempotency-Key. */
export interface PlaceOrderResult {
  response: RecordedResponse;
  replayed: boolean;
}

/** Where the problems of this endpoint point (`instance`), also in recorded responses. */
const INSTANCE = '/orders';

/**
 * POST /orders: reserve the stock now and record the order confirmed, or refuse. The order id is
 * allocated first (and stored with the Idempotency-Key, if any) so the reservation is idempotent by it.
 * The order, its lines, its order.confirmed event and the key's response commit in one transaction; if
 * that fails after the reservation, the reservation is released in the background (compensation).
 * Refusals (409 insufficient_stock, 422 product_unavailable) are thrown as AppErrors and recorded for
 * the key; 503 product_service_unavailable is not recorded, so a retry runs afresh.
 */
export function placeOrder(deps: OrderDependencies, request: PlaceOrderRequest, key?: IdempotencyKey): Promise<PlaceOrderResult> {
  // One span per placement (order.id, order.status; red with the reason when refused), the parent of the
  // reservation call and of the order's transaction.
  return inSpan('place order', { attributes: { 'order.mode': 'sync', 'order.lines': request.lines.length } }, () => place(deps, request, key));
}

async function place(deps: OrderDependencies, request: PlaceOrderRequest, key?: IdempotencyKey): Promise<PlaceOrderResult> {
  const claim = key ? await claimKey(deps.idempotency, key, deps.idempotencyLeaseMs) : ({ kind: 'run', orderId: uuidv7(), resumed: false } as const);
  if (claim.kind === 'replay') return { response: claim.response, replayed: true };

  let orderId = claim.orderId;
  addToContext({ orderId });
  let reserved = false;
  try {
    let outcome = await deps.inventory.reserve(orderId, request.lines);
    if (outcome.kind === 'reservation_released' && claim.resumed && key) {
      // An earlier attempt with this key failed and was compensated: its order id is spent. Start over.
      const fresh = uuidv7();
      if (!(await deps.idempotency.reassign(key.scope, key.key, orderId, fresh))) throw new Error(`Idempotency-Key ${key.key} changed hands`);
      deps.logger.info({ previousOrderId: orderId, orderId: fresh }, 'resumed request had been compensated; using a new order id');
      orderId = fresh;
      addToContext({ orderId });
      outcome = await deps.inventory.reserve(orderId, request.lines);
    }
    if (outcome.kind !== 'reserved') {
      if (outcome.kind === 'reservation_conflict' || outcome.kind === 'reservation_released') {
        throw new Error(`fresh order id ${orderId} already had a reservation (${outcome.kind})`);
      }
      throw refusalProblem(outcome, request.lines);
    }
    reserved = true;
    const order = await record(deps, request, orderId, outcome.items, key);
    deps.metrics.orders.inc({ mode: 'sync', outcome: 'confirmed' });
    annotateSpan({ 'order.status': 'confirmed' });
    observeValue(deps.metrics, 'sync', order.total);
    return { response: { status: 201, body: orderRepresentation(order) }, replayed: false };
  } catch (err) {
    throw await failed(deps, err, orderId, reserved, key);
  }
}

/** Turns a failure into what the client gets, after recording, forgetting or compensating as needed. */
async function failed(deps: OrderDependencies, err: unknown, orderId: string, reserved: boolean, key?: IdempotencyKey): Promise<unknown> {
  if (err instanceof AppError && (err.code === 'insufficient_stock' || err.code === 'product_unavailable')) {
    deps.metrics.orders.inc({ mode: 'sync', outcome: 'rejected' });
    rejectSpan(`order rejected: ${err.code}`, { 'order.status': 'rejected' });
    if (key) await deps.idempotency.complete(key.scope, key.key, orderId, { status: err.status, body: toProblem(err, INSTANCE) });
    return err;
  }
  deps.metrics.orders.inc({ mode: 'sync', outcome: 'failed' });
  if (reserved) {
    deps.logger.error({ err, orderId }, 'recording a reserved order failed; releasing its reservation');
    deps.compensations.release(orderId, 'recording the order failed', async () => (await deps.orders.find(orderId)) !== undefined);
  } else if (err instanceof ProductServiceUnavailableError && err.maybeApplied) {
    // A timeout after sending: the product service may have reserved. The order id will never be used
    // again, so release it (a late reservation then finds a tombstone and is refused).
    deps.compensations.release(orderId, 'reservation outcome unknown');
  }
  if (key) {
    await deps.idempotency.abandon(key.scope, key.key, orderId).catch((abandonErr: unknown) => {
      // The key stays in progress; a retry after the lease resumes it with this order id.
      deps.logger.warn({ err: abandonErr, orderId }, 'could not forget the Idempotency-Key of a failed request');
    });
  }
  if (err instanceof ProductServiceUnavailableError) return productServiceUnavailable(err, deps.retryAfterSeconds);
  return err;
}

async function record(
  deps: OrderDependencies,
  request: PlaceOrderRequest,
  orderId: string,
  reservedItems: ReservedItem[],
  key?: IdempotencyKey,
): Promise<Order> {
  const priced = priceLines(request.lines, reservedItems);
  const now = new Date();
  const order: Order = {
    id: orderId,
    userId: request.userId,
    status: 'confirmed',
    mode: 'sync',
    reason: null,
    total: priced.total,
    version: 1,
    createdAt: now,
    updatedAt: now,
    items: priced.items,
  };
  try {
    await deps.transact(async (tx) => {
      await deps.orders.insert(tx, order);
      await deps.outbox.enqueue(tx, [orderStatusChanged(deps.topic, order, null)]);
      if (key) await deps.idempotency.complete(key.scope, key.key, orderId, { status: 201, body: orderRepresentation(order) }, tx);
    });
    return order;
  } catch (err) {
    // Two attempts of one Idempotency-Key (the first outlived its lease) share the order id: the first
    // to commit wins and the other answers with its order.
    if (sqlErrno(err) === ER_DUP_ENTRY) {
      const existing = await deps.orders.find(orderId);
      if (existing) return existing;
    }
    throw err;
  }
}
