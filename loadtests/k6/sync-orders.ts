/**
 * Synchronous orders (POST /orders: reserve stock over HTTP, write the order, answer 201) at a rising
 * arrival rate, so the run shows where the synchronous path saturates. Stock never runs out.
 */
import http from 'k6/http';
import { check } from 'k6';
import { BASE_URL, ORDER_STAGES, customerOrder, optionsFor, pick, rate, seedProducts, thresholdsFor, vusFor, type SeededProduct } from './common.ts';

const PEAK = Math.max(...ORDER_STAGES.map(s => s.target));

export const options = optionsFor(
  {
    sync_orders: {
      executor: 'ramping-arrival-rate',
      exec: 'placeOrder',
      startRate: rate(5),
      timeUnit: '1s',
      stages: ORDER_STAGES,
      ...vusFor(PEAK, 0.2, 3),
      tags: { workload: 'orders', mode: 'sync' },
    },
  },
  // Saturation is the point of this run: the thresholds say where the SLO broke, they do not abort it.
  thresholdsFor('sync_orders', { maxFailedRate: 0.01, p95Ms: 500, p99Ms: 1500 }),
);

export function setup(): { products: SeededProduct[] } {
  return { products: seedProducts(200, 1_000_000, 'sync') };
}

export function placeOrder(data: { products: SeededProduct[] }): void {
  const order = customerOrder(pick(data.products).id, 'POST /orders');
  const res = http.post(`${BASE_URL}/orders`, order.body, order.params);
  check(res, { 'order placed (201)': r => r.status === 201 });
}
