import type { Counter, Metrics } from '@eshop/common';

export type ReservationOutcome = 'reserved' | 'replayed' | 'insufficient_stock' | 'unavailable' | 'conflict';
export type ReleaseOutcome = 'released' | 'already_released' | 'tombstoned';
export type CatalogChange = 'created' | 'updated' | 'deleted';

export interface ProductMetrics {
  reservations: Counter<'outcome'>;
  releases: Counter<'outcome'>;
  catalogChanges: Counter<'change'>;
}

/** The service's business counters, every label value pre-set to 0 so rates exist before the first event. */
export function productMetrics(metrics: Metrics): ProductMetrics {
  const reservations = metrics.counter({
    name: 'inventory_reservations_total',
    help: 'Stock reservation requests by outcome (conflict covers reservation_conflict and reservation_released).',
    labelNames: ['outcome'] as const,
  });
  const releases = metrics.counter({
    name: 'inventory_releases_total',
    help: 'Reservation releases by outcome (tombstoned: the order id had no reservation yet).',
    labelNames: ['outcome'] as const,
  });
  const catalogChanges = metrics.counter({
    name: 'product_catalog_changes_total',
    help: 'Committed catalogue changes by kind.',
    labelNames: ['change'] as const,
  });
  const outcomes: ReservationOutcome[] = ['reserved', 'replayed', 'insufficient_stock', 'unavailable', 'conflict'];
  for (const outcome of outcomes) reservations.inc({ outcome }, 0);
  for (const outcome of ['released', 'already_released', 'tombstoned'] satisfies ReleaseOutcome[]) releases.inc({ outcome }, 0);
  for (const change of ['created', 'updated', 'deleted'] satisfies CatalogChange[]) catalogChanges.inc({ change }, 0);
  return { reservations, releases, catalogChanges };
}
