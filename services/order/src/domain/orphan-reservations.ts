/**
 * Releases stock that no order will ever account for. A sync request reserves at the product service, then
 * records the order; if its process dies in between (kill -9, OOM, node lost), the reservation stays held
 * with no order and no compensation to come. The sweep lists reservations older than a safe age
 * (well past the Idempotency-Key lease, so no retry is still recording them) and releases those whose
 * order does not exist. Releasing is idempotent and tombstones the order id, so a very late recording of
 * that id is refused by the product service instead of confirming an order without stock. Every API
 * replica sweeps (at a jittered interval); two replicas releasing the same reservation is harmless.
 */
import type { Logger } from '@eshop/common';
import type { Counter } from 'prom-client';
import type { ProductClient } from '../clients/product-client';
import type { OrderRepository } from '../data/order-repository';

const PAGE = 200;

export interface OrphanSweepOptions {
  inventory: Pick<ProductClient, 'heldReservations' | 'release'>;
  orders: Pick<OrderRepository, 'find'>;
  logger: Logger;
  released: Counter;
  /** Reservations younger than this are left alone. */
  minAgeMs: number;
}

/** One pass over every held reservation older than minAgeMs; returns how many were checked and released. */
export async function sweepOrphanReservations(options: OrphanSweepOptions): Promise<{ checked: number; released: number }> {
  const before = new Date(Date.now() - options.minAgeMs);
  let after = '';
  let checked = 0;
  let released = 0;
  for (;;) {
    const page = await options.inventory.heldReservations(before, after, PAGE);
    for (const orderId of page.orderIds) {
      checked++;
      if (await options.orders.find(orderId)) continue;
      await options.inventory.release(orderId);
      released++;
      options.released.inc();
      options.logger.warn({ orderId }, 'released a reservation whose order was never recorded');
    }
    if (page.nextAfter === null) break;
    after = page.nextAfter;
  }
  return { checked, released };
}

/** Runs the sweep every intervalMs (±20 % jitter so replicas spread out); stop() waits for a pass in progress. */
export function startOrphanSweeper(options: OrphanSweepOptions & { intervalMs: number }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepOrphanReservations(options)
        .then(
          ({ checked, released }) => {
            if (released > 0) options.logger.info({ checked, released }, 'orphan reservation sweep released stock');
          },
          (err: unknown) => options.logger.warn({ err }, 'orphan reservation sweep failed; retrying at the next interval'),
        )
        .finally(schedule);
    }, options.intervalMs * (0.8 + Math.random() * 0.4));
    timer.unref();
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
