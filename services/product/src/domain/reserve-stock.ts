import { AppError } from '@eshop/common';
import type { Transaction } from '../data/transactions';
import type { InventoryDependencies } from './inventory';
import { ProductEventType, stockMoved } from './product-events';
import type { ReservationOutcome } from './product-metrics';
import { decideReplay, inLockOrder, type Reservation, type ReservationItem, type ReservationRequest } from './reservation';

export interface ReserveResult {
  reservation: Reservation;
  /** False when this was a retry answered with the stored reservation. */
  created: boolean;
}

const OUTCOME_BY_CODE: Record<string, ReservationOutcome> = {
  insufficient_stock: 'insufficient_stock',
  product_unavailable: 'unavailable',
  reservation_conflict: 'conflict',
  reservation_released: 'conflict',
};

/**
 * Reserves every line of an order or none, in one transaction: claim the order id, then take stock
 * line by line in product id order with a guarded decrement. Idempotent by order id.
 */
export async function reserveStock(deps: InventoryDependencies, request: ReservationRequest): Promise<ReserveResult> {
  try {
    const result = await deps.transact((tx) => reserveInTransaction(deps, tx, request));
    deps.metrics.reservations.inc({ outcome: result.created ? 'reserved' : 'replayed' });
    return result;
  } catch (err) {
    const outcome = err instanceof AppError ? OUTCOME_BY_CODE[err.code] : undefined;
    if (outcome) deps.metrics.reservations.inc({ outcome });
    throw err;
  }
}

async function reserveInTransaction(
  deps: InventoryDependencies,
  tx: Transaction,
  request: ReservationRequest,
): Promise<ReserveResult> {
  const { products, reservations, outbox, topic } = deps;
  // The primary key serialises concurrent requests for one order id: the second waits here for the
  // first to commit (then replays it) or to roll back (then goes ahead itself).
  if (!(await reservations.claim(tx, request.orderId, 'reserved'))) {
    const existing = await reservations.find(request.orderId, tx, 'share');
    if (!existing) throw new Error(`reservation ${request.orderId} exists but cannot be read`);
    return { reservation: replay(existing, request), created: false };
  }

  const lines = inLockOrder(request.items);
  for (const line of lines) {
    if (await products.takeStock(tx, line.productId, line.quantity)) continue;
    const state = await products.state(tx, line.productId);
    if (!state || state.deleted) {
      throw new AppError({
        status: 422,
        code: 'product_unavailable',
        detail: `product ${line.productId} does not exist or is no longer sold`,
        field: `items[${line.index}].product_id`,
        extensions: { product_id: line.productId },
      });
    }
    throw new AppError({
      status: 409,
      code: 'insufficient_stock',
      detail: `product ${line.productId} has ${state.stock} in stock, ${line.quantity} requested`,
      field: `items[${line.index}].quantity`,
      extensions: { product_id: line.productId, requested: line.quantity, available: state.stock },
    });
  }

  const after = await products.findManyIncludingDeleted(tx, lines.map((l) => l.productId));
  const items: ReservationItem[] = lines.map((line) => {
    const product = after.get(line.productId);
    if (!product) throw new Error(`reserved product ${line.productId} is not readable`);
    return { productId: line.productId, name: product.name, quantity: line.quantity, unitPrice: product.price };
  });
  await reservations.addItems(tx, request.orderId, items);
  await outbox.enqueue(
    tx,
    lines.map((line) =>
      stockMoved(topic, ProductEventType.stockReserved, {
        productId: line.productId,
        orderId: request.orderId,
        quantity: line.quantity,
        stockAfter: after.get(line.productId)!.stock,
      }),
    ),
  );
  const reservation = await reservations.find(request.orderId, tx);
  if (!reservation) throw new Error(`reservation ${request.orderId} vanished inside its own transaction`);
  return { reservation, created: true };
}

function replay(existing: Reservation, request: ReservationRequest): Reservation {
  switch (decideReplay(existing, request.items)) {
    case 'replay':
      return existing;
    case 'released':
      throw new AppError({
        status: 409,
        code: 'reservation_released',
        detail: `order ${request.orderId} was released; its stock cannot be reserved again`,
        field: 'order_id',
        extensions: { order_id: request.orderId },
      });
    case 'conflict':
      throw new AppError({
        status: 409,
        code: 'reservation_conflict',
        detail: `order ${request.orderId} already has a reservation with other items`,
        field: 'items',
        extensions: { order_id: request.orderId },
      });
  }
}
