/**
 * Asynchronous orders (POST /orders/async: order + outbox row in one transaction, answer 202; consumers
 * confirm later) at the same rising arrival rate as sync-orders.ts, for the sync-vs-async comparison.
 */
import http from 'k6/http';
import { check } from 'k6';
import { BASE_URL, ORDER_STAGES, customerOrder, optionsFor, pick, rate, seedProducts, thresholdsFor, vusFor, type SeededProduct } from './common.ts';

const PEAK = Math.max(...ORDER_STAGES.map(s => s.target));

export const options = optionsFor(
  {
    async_orders: {
      executor: 'ramping-arrival-rate',
      exec: 'acceptOrder',
      startRate: rate(5),
      timeUnit: '1s',
      stages: ORDER_STAGES,
      ...vusFor(PEAK, 0.05, 2),
      tags: { workload: 'orders', mode: 'async' },
    },
  },
  thresholdsFor('async_orders', { maxFailedRate: 0.001, p95Ms: 200, p99Ms: 500 }),
);

export function setup(): { products: SeededProduct[] } {
  return { products: seedProducts(200, 1_000_000, 'async') };
}

export function acceptOrder(data: { products: SeededProduct[] }): void {
  const order = customerOrder(pick(data.products).id, 'POST /orders/async');
  const res = http.post(`${BASE_URL}/orders/async`, order.body, order.params);
  check(res, { 'order accepted (202)': r => r.status === 202 });
}
