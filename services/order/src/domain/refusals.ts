import { AppError } from '@eshop/common';
import { ProductServiceUnavailableError, type ReserveOutcome } from '../clients/product-client';
import type { OrderLine } from './order';

export type Refusal = Exclude<ReserveOutcome, { kind: 'reserved' }>;

/** The reason stored on a rejected order and sent in order.rejected, e.g. `insufficient_stock: product 7`. */
export function rejectionReason(refusal: Refusal): string {
  switch (refusal.kind) {
    case 'insufficient_stock':
      return `insufficient_stock: product ${refusal.productId}`;
    case 'product_unavailable':
      return `product_unavailable: product ${refusal.productId}`;
    case 'reservation_released':
      return 'reservation_released: the stock of this order was already released';
    case 'reservation_conflict':
      return 'reservation_conflict: the order id holds a reservation with other items';
  }
}

/** The problem a client gets for a refused reservation, naming the offending line as `items[i].product_id`. */
export function refusalProblem(refusal: Refusal, lines: readonly OrderLine[], extensions: Record<string, unknown> = {}): AppError {
  const index = (productId: number) => Math.max(0, lines.findIndex((l) => l.productId === productId));
  switch (refusal.kind) {
    case 'insufficient_stock':
      return new AppError({
        status: 409,
        code: 'insufficient_stock',
        detail: `product ${refusal.productId} has ${refusal.available} in stock, ${refusal.requested} requested`,
        field: `items[${index(refusal.productId)}].product_id`,
        extensions: { product_id: refusal.productId, requested: refusal.requested, available: refusal.available, ...extensions },
      });
    case 'product_unavailable':
      return new AppError({
        status: 422,
        code: 'product_unavailable',
        detail: `product ${refusal.productId} does not exist or is no longer sold`,
        field: `items[${index(refusal.productId)}].product_id`,
        extensions: { product_id: refusal.productId, ...extensions },
      });
    case 'reservation_released':
    case 'reservation_conflict':
      return new AppError({ status: 409, code: refusal.kind, detail: rejectionReason(refusal), extensions });
  }
}

/** 503 with Retry-After: the product service could not be asked; nothing about the order changed. */
export function productServiceUnavailable(err: ProductServiceUnavailableError, retryAfterSeconds: number): AppError {
  return new AppError({
    status: 503,
    code: 'product_service_unavailable',
    detail: 'the inventory could not be checked right now; nothing was ordered, retry later',
    headers: { 'Retry-After': String(retryAfterSeconds) },
    cause: err,
  });
}
