import { AppError } from '@eshop/common';
import { assertTransition, canTransition, isFinal, nextStatuses, ORDER_STATUSES, type OrderStatus } from '../src/domain/order-status';

/** The lifecycle as the product owners wrote it down; the code must match it pair by pair. */
const LEGAL: ReadonlyArray<[OrderStatus, OrderStatus]> = [
  ['pending', 'confirmed'],
  ['pending', 'rejected'],
  ['confirmed', 'paid'],
  ['confirmed', 'cancelled'],
  ['paid', 'shipped'],
  ['paid', 'cancelled'],
  ['shipped', 'delivered'],
];

const allPairs = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to] as [OrderStatus, OrderStatus]));
const isLegal = (from: OrderStatus, to: OrderStatus) => LEGAL.some(([f, t]) => f === from && t === to);

describe('order state machine', () => {
  it.each(allPairs.filter(([from, to]) => isLegal(from, to)))('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(allPairs.filter(([from, to]) => !isLegal(from, to)))('refuses %s → %s with 409 illegal_transition naming the allowed next statuses', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    let error: unknown;
    try {
      assertTransition(from, to);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      status: 409,
      code: 'illegal_transition',
      extensions: { current_status: from, requested_status: to, allowed: LEGAL.filter(([f]) => f === from).map(([, t]) => t) },
    });
  });

  it('lists the next statuses, none for the final ones', () => {
    expect(nextStatuses('pending')).toEqual(['confirmed', 'rejected']);
    expect(nextStatuses('paid')).toEqual(['shipped', 'cancelled']);
    expect(ORDER_STATUSES.filter(isFinal)).toEqual(['rejected', 'delivered', 'cancelled']);
  });
});
