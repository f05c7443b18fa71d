import { AppError } from '@eshop/common';

/** Every status an order can have. */
export const ORDER_STATUSES = ['pending', 'confirmed', 'rejected', 'paid', 'shipped', 'delivered', 'cancelled'] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * The order lifecycle. pending is where async orders wait for their reservation; rejected, delivered
 * and cancelled are final. Cancelling is possible until the parcel ships.
 */
const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['confirmed', 'rejected'],
  confirmed: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  rejected: [],
  cancelled: [],
};

/** The statuses an order in `current` may move to next (empty for final statuses). */
export function nextStatuses(current: OrderStatus): readonly OrderStatus[] {
  return TRANSITIONS[current];
}

export function canTransition(current: OrderStatus, requested: OrderStatus): boolean {
  return TRANSITIONS[current].includes(requested);
}

export function isFinal(status: OrderStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Throws 409 `illegal_transition` naming the legal next statuses unless current → requested is allowed. */
export function assertTransition(current: OrderStatus, requested: OrderStatus): void {
  if (canTransition(current, requested)) return;
  const allowed = nextStatuses(current);
  throw new AppError({
    status: 409,
    code: 'illegal_transition',
    detail:
      allowed.length === 0
        ? `an order that is ${current} cannot change status (${current} is final)`
        : `an order that is ${current} cannot become ${requested}; allowed: ${allowed.join(', ')}`,
    field: 'status',
    extensions: { current_status: current, requested_status: requested, allowed: [...allowed] },
  });
}
