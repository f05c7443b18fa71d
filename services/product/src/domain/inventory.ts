import { AppError } from '@eshop/common';
import type { Outbox } from '@eshop/common';
import type { ProductRepository } from '../data/product-repository';
import type { ReservationRepository } from '../data/reservation-repository';
import type { Transact } from '../data/transactions';
import type { ProductMetrics } from './product-metrics';
import type { Reservation } from './reservation';

/** What the inventory use cases (reserve, release) work with. */
export interface InventoryDependencies {
  transact: Transact;
  products: ProductRepository;
  reservations: ReservationRepository;
  outbox: Pick<Outbox, 'enqueue'>;
  topic: string;
  metrics: ProductMetrics;
}

/** The reservation of an order, or a 404. */
export async function findReservation(deps: InventoryDependencies, orderId: string): Promise<Reservation> {
  const reservation = await deps.reservations.find(orderId);
  if (!reservation) throw AppError.notFound('reservation for order', orderId);
  return reservation;
}
