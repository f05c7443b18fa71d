import type { Transaction } from '../data/transactions';
import type { InventoryDependencies } from './inventory';
import { ProductEventType, stockMoved } from './product-events';
import type { ReleaseOutcome } from './product-metrics';
import type { Reservation } from './reservation';

/**
 * Puts an order's reserved stock back, once: the reservation row is locked, so concurrent releases
 * queue and the later ones find it released. Releasing an unknown order id leaves a tombstone, so a
 * reserve that arrives after the compensation is refused.
 */
export async function releaseStock(deps: InventoryDependencies, orderId: string): Promise<Reservation> {
  const { reservation, outcome } = await deps.transact((tx) => releaseInTransaction(deps, tx, orderId));
  deps.metrics.releases.inc({ outcome });
  return reservation;
}

async function releaseInTransaction(
  deps: InventoryDependencies,
  tx: Transaction,
  orderId: string,
): Promise<{ reservation: Reservation; outcome: ReleaseOutcome }> {
  const { products, reservations, outbox, topic } = deps;
  const existing = await reservations.find(orderId, tx, 'update');
  if (!existing) {
    if (!(await reservations.claim(tx, orderId, 'released'))) {
      // A reserve or release for this id committed between our read and insert: decide again on it.
      return releaseInTransaction(deps, tx, orderId);
    }
    return { reservation: await mustFind(deps, tx, orderId), outcome: 'tombstoned' };
  }
  if (existing.status === 'released') return { reservation: existing, outcome: 'already_released' };

  for (const item of existing.items) await products.returnStock(tx, item.productId, item.quantity);
  await reservations.markReleased(tx, orderId);
  const after = await products.findManyIncludingDeleted(tx, existing.items.map((i) => i.productId));
  await outbox.enqueue(
    tx,
    existing.items.map((item) =>
      stockMoved(topic, ProductEventType.stockReleased, {
        productId: item.productId,
        orderId,
        quantity: item.quantity,
        stockAfter: after.get(item.productId)?.stock ?? 0,
      }),
    ),
  );
  return { reservation: await mustFind(deps, tx, orderId), outcome: 'released' };
}

async function mustFind(deps: InventoryDependencies, tx: Transaction, orderId: string): Promise<Reservation> {
  const reservation = await deps.reservations.find(orderId, tx);
  if (!reservation) throw new Error(`reservation ${orderId} vanished inside its own transaction`);
  return reservation;
}
