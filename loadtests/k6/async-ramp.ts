/**
 * The autoscaling scenario: asynchronous orders ramping up to a rate that one order consumer cannot keep
 * up with, held long enough for KEDA (lag per replica > lagThreshold) to add consumers, then stopped so
 * the lag drains and the consumers scale back. The experiment runner (loadtests/experiment) watches it.
 */
import http from 'k6/http';
import { check } from 'k6';
import { BASE_URL, customerOrder, optionsFor, pick, rate, seedProducts, thresholdsFor, vusFor, type SeededProduct } from './common.ts';

const HOLD = __ENV.HOLD || '5m';
const PEAK = rate(200);

export const options = optionsFor(
  {
    async_ramp: {
      executor: 'ramping-arrival-rate',
      exec: 'acceptOrder',
      startRate: rate(10),
      timeUnit: '1s',
      stages: [
        { target: rate(50), duration: '1m' },
        { target: PEAK, duration: '2m' },
        { target: PEAK, duration: HOLD },
        { target: 0, duration: '30s' },
      ],
      ...vusFor(PEAK, 0.05, 2),
      tags: { workload: 'orders', mode: 'async' },
    },
  },
  // Intake must stay healthy while the consumers fall behind: that is what the async path promises.
  thresholdsFor('async_ramp', { maxFailedRate: 0.001, p95Ms: 250, p99Ms: 750, abortFailedRate: 0.2 }),
);

export function setup(): { products: SeededProduct[] } {
  return { products: seedProducts(200, 1_000_000, 'ramp') };
}

export function acceptOrder(data: { products: SeededProduct[] }): void {
  const order = customerOrder(pick(data.products).id, 'POST /orders/async');
  const res = http.post(`${BASE_URL}/orders/async`, order.body, order.params);
  check(res, { 'order accepted (202)': r => r.status === 202 });
}
