/**
 * Who may do what with orders. Admins: everything. Customers: their own orders only — place them (the
 * body's user_id is the token's subject), read and list them, and cancel them; other status changes are
 * the shop's (admin) business. The caller is the gateway-verified identity (services/common/src/auth.ts).
 */
import { AppError, forbidden, isAdmin, type Identity } from '@eshop/common';
import type { Order } from './order';
import type { OrderStatus } from './order-status';

/** Status changes a customer may make to their own order. */
export const CUSTOMER_STATUS_CHANGES: readonly OrderStatus[] = ['cancelled'];

/** 403 naming the `user_id` (body or query) that is not the caller's. */
function notOwnUserId(detail: string): AppError {
  return new AppError({
    status: 403,
    code: 'forbidden',
    detail,
    field: 'user_id',
    errors: [{ field: 'user_id', message: 'is not the signed-in user', code: 'not_own_user_id' }],
  });
}

export function assertMayPlaceFor(actor: Identity, userId: string): void {
  if (isAdmin(actor) || actor.userId === userId) return;
  throw notOwnUserId('user_id must be your own user id (the subject of your access token)');
}

export function assertMayRead(actor: Identity, order: Order): void {
  if (isAdmin(actor) || actor.userId === order.userId) return;
  throw forbidden('this order belongs to another user');
}

/** The user whose orders a listing shows: customers see their own (user_id omitted or their own). */
export function listedUser(actor: Identity, requested: string | undefined): string | undefined {
  if (isAdmin(actor)) return requested;
  if (requested === undefined || requested === actor.userId) return actor.userId;
  throw notOwnUserId('customers can only list their own orders');
}

export function assertMayChangeStatus(actor: Identity, order: Order, status: OrderStatus): void {
  if (isAdmin(actor)) return;
  assertMayRead(actor, order);
  if (!CUSTOMER_STATUS_CHANGES.includes(status)) {
    throw forbidden(`customers may only change their order's status to ${CUSTOMER_STATUS_CHANGES.join(', ')}`);
  }
}
