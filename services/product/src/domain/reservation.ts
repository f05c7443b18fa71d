export type ReservationStatus = 'reserved' | 'released';

export interface ReservationItem {
  productId: number;
  name: string;
  quantity: number;
  /** Price per unit captured when the stock was reserved. */
  unitPrice: string;
}

/** A stock reservation for one order; a `released` reservation without items is a tombstone. */
export interface Reservation {
  orderId: string;
  status: ReservationStatus;
  items: ReservationItem[];
  createdAt: Date;
  updatedAt: Date;
  releasedAt: Date | null;
}

export interface RequestedLine {
  productId: number;
  quantity: number;
}

export interface ReservationRequest {
  orderId: string;
  items: RequestedLine[];
}

export interface ReservationRepresentation {
  order_id: string;
  status: ReservationStatus;
  items: Array<{ product_id: number; name: string; quantity: number; unit_price: string }>;
  created_at: string;
  released_at: string | null;
}

export function reservationRepresentation(reservation: Reservation): ReservationRepresentation {
  return {
    order_id: reservation.orderId,
    status: reservation.status,
    items: reservation.items.map((i) => ({
      product_id: i.productId,
      name: i.name,
      quantity: i.quantity,
      unit_price: i.unitPrice,
    })),
    created_at: reservation.createdAt.toISOString(),
    released_at: reservation.releasedAt?.toISOString() ?? null,
  };
}

/** Lines in product id order with their index in the request: locking rows in one global order avoids deadlocks. */
export function inLockOrder(lines: readonly RequestedLine[]): Array<RequestedLine & { index: number }> {
  return lines.map((line, index) => ({ ...line, index })).sort((a, b) => a.productId - b.productId);
}

/** True when a retry asks for exactly the stored lines (order of lines does not matter). */
export function sameLines(stored: readonly RequestedLine[], requested: readonly RequestedLine[]): boolean {
  if (stored.length !== requested.length) return false;
  const wanted = new Map(requested.map((l) => [l.productId, l.quantity]));
  return stored.every((l) => wanted.get(l.productId) === l.quantity);
}

export type ReplayDecision = 'replay' | 'conflict' | 'released';

/**
 * What a reserve call for an order id that already has a reservation gets: the stored reservation
 * (idempotent retry), a conflict (same id, other items), or a refusal because the order was released
 * (a late retry must not resurrect a compensated order).
 */
export function decideReplay(existing: Reservation, requested: readonly RequestedLine[]): ReplayDecision {
  if (existing.status === 'released') return 'released';
  return sameLines(existing.items, requested) ? 'replay' : 'conflict';
}
