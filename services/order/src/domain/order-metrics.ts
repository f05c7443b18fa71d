import type { Counter, Histogram, Metrics } from '@eshop/common';
import type { OrderMode } from './order';
import { ORDER_STATUSES, nextStatuses } from './order-status';

/** accepted: an async order got its 202; confirmed/rejected: its outcome; failed: a sync order that got a 5xx. */
export type OrderOutcome = 'accepted' | 'confirmed' | 'rejected' | 'failed';

export interface OrderMetrics {
  orders: Counter<'mode' | 'outcome'>;
  value: Histogram<'mode'>;
  asyncConfirmation: Histogram<'outcome'>;
  transitions: Counter<'from' | 'to'>;
  compensationFailures: Counter;
  orphansReleased: Counter;
}

/** Business metrics of both order processes; every label combination starts at 0 so rates exist at once. */
export function orderMetrics(metrics: Metrics): OrderMetrics {
  const orders = metrics.counter({
    name: 'orders_total',
    help: 'Orders by mode (sync, async) and outcome (accepted, confirmed, rejected, failed).',
    labelNames: ['mode', 'outcome'] as const,
  });
  const value = metrics.histogram({
    name: 'order_value_amount',
    help: 'Total of confirmed orders, in currency units.',
    labelNames: ['mode'] as const,
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000],
  });
  const asyncConfirmation = metrics.histogram({
    name: 'order_async_confirmation_seconds',
    help: 'Time from accepting an async order (202) until it was confirmed or rejected.',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  });
  const transitions = metrics.counter({
    name: 'order_status_transitions_total',
    help: 'Committed order status changes (an order created confirmed is not a transition).',
    labelNames: ['from', 'to'] as const,
  });
  const compensationFailures = metrics.counter({
    name: 'order_compensation_failures_total',
    help: 'Reservations that could not be released after a sync order failed to be recorded (stock may be held; see logs).',
  });
  const modes: OrderMode[] = ['sync', 'async'];
  for (const mode of modes) {
    for (const outcome of ['confirmed', 'rejected'] satisfies OrderOutcome[]) orders.inc({ mode, outcome }, 0);
  }
  // Only these exist: an async order that cannot be recorded gets a 5xx before it was ever accepted.
  orders.inc({ mode: 'sync', outcome: 'failed' }, 0);
  orders.inc({ mode: 'async', outcome: 'accepted' }, 0);
  for (const from of ORDER_STATUSES) for (const to of nextStatuses(from)) transitions.inc({ from, to }, 0);
  compensationFailures.inc(0);
  const orphansReleased = metrics.counter({
    name: 'order_orphan_reservations_released_total',
    help: 'Reservations the orphan sweep released because their order was never recorded (the API died between reserving and committing).',
  });
  orphansReleased.inc(0);
  return { orders, value, asyncConfirmation, transitions, compensationFailures, orphansReleased };
}

/** Observes a money string as a float for the histogram only; money arithmetic never uses floats. */
export function observeValue(metrics: OrderMetrics, mode: OrderMode, total: string | null): void {
  if (total !== null) metrics.value.observe({ mode }, Number(total));
}
