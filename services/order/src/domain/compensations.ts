import type { Logger } from '@eshop/common';
import type { Inventory } from '../clients/product-client';
import type { OrderMetrics } from './order-metrics';

/** The longest pause between two release attempts. */
const MAX_DELAY_MS = 5000;

/**
 * Releases reservations that a sync request took but could not turn into an order. Runs in the
 * background with retries so the client gets its answer at once; `drain()` (on shutdown) waits for
 * the ones in flight. The retries (200 ms doubling, at most MAX_DELAY_MS apart) must outlast a restart
 * of the product service: a crash is exactly when a reservation's answer gets lost. A release that keeps failing is logged and counted in
 * order_compensation_failures_total: the stock stays held until someone releases it by hand.
 */
export class Compensations {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly inventory: Inventory,
    private readonly logger: Logger,
    private readonly metrics: OrderMetrics,
    private readonly attempts: number,
    private readonly initialDelayMs = 200,
  ) {}

  /**
   * Releases the order's reservation in the background. With `unlessRecorded`, the release waits until
   * that check can answer and is skipped when the order was recorded after all (a COMMIT whose
   * acknowledgement was lost with the connection may still have applied).
   */
  release(orderId: string, why: string, unlessRecorded?: () => Promise<boolean>): void {
    const run = this.guardedRelease(orderId, why, unlessRecorded).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async guardedRelease(orderId: string, why: string, unlessRecorded?: () => Promise<boolean>): Promise<void> {
    if (unlessRecorded) {
      for (let attempt = 1; ; attempt++) {
        try {
          if (await unlessRecorded()) {
            this.logger.warn({ orderId, why }, 'the order was recorded despite the error; keeping its reservation');
            return;
          }
          break;
        } catch (err) {
          if (attempt >= this.attempts * 3) {
            this.metrics.compensationFailures.inc();
            this.logger.error({ err, orderId, why }, `compensation undecided: could not tell whether order ${orderId} was recorded`);
            return;
          }
          await new Promise((r) => setTimeout(r, Math.min(5000, this.initialDelayMs * 2 ** (attempt - 1))));
        }
      }
    }
    await this.releaseWithRetries(orderId, why);
  }

  /** Resolves once every compensation started so far finished (or gave up). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async releaseWithRetries(orderId: string, why: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.inventory.release(orderId);
        this.logger.info({ orderId, why, attempt }, 'reservation released (compensation)');
        return;
      } catch (err) {
        if (attempt >= this.attempts) {
          this.metrics.compensationFailures.inc();
          this.logger.error(
            { err, orderId, why, attempts: attempt },
            `compensation failed: stock of order ${orderId} may still be reserved; release it with POST /internal/reservations/${orderId}/release`,
          );
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(MAX_DELAY_MS, this.initialDelayMs * 2 ** (attempt - 1))));
      }
    }
  }
}
