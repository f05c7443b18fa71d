/**
 * Flash sale: a spike of synchronous orders on 3 products with little stock. Most orders lose the race and
 * get 409 (out of stock) — the expected outcome, so 409 is not counted in http_req_failed; the invariant
 * is that no more orders are placed than units existed (sold_out_responses + placed show the split).
 */
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, LOAD_FACTOR, customerOrder, optionsFor, pick, rate, seedProducts, thresholdsFor, vusFor, type SeededProduct } from './common.ts';

const PEAK = rate(300);
/** Units per hot product: a fraction of what the spike asks for, so stock runs out mid-spike. */
export const FLASH_STOCK = Math.max(10, Math.round(200 * LOAD_FACTOR));

const placed = new Counter('flash_sale_orders_placed');
const soldOut = new Counter('flash_sale_sold_out_responses');

/** 2xx and 409 are expected; anything else (5xx, 4xx other than 409, timeouts) is a failure. */
export const FLASH_SALE_STATUSES = http.expectedStatuses({ min: 200, max: 299 }, 409);

export const options = optionsFor(
  {
    flash_sale: {
      executor: 'ramping-arrival-rate',
      exec: 'buy',
      startRate: rate(5),
      timeUnit: '1s',
      stages: [
        { target: rate(5), duration: '20s' },
        { target: PEAK, duration: '10s' },
        { target: PEAK, duration: '1m' },
        { target: rate(5), duration: '10s' },
        { target: rate(5), duration: '20s' },
      ],
      ...vusFor(PEAK, 0.2, 3),
      tags: { workload: 'flash-sale', mode: 'sync' },
    },
  },
  thresholdsFor('flash_sale', { maxFailedRate: 0.01, p95Ms: 800, p99Ms: 2000 }),
);

export function setup(): { products: SeededProduct[] } {
  return { products: seedProducts(3, FLASH_STOCK, 'flash') };
}

export function buy(data: { products: SeededProduct[] }): void {
  const order = customerOrder(pick(data.products).id, 'POST /orders');
  const res = http.post(`${BASE_URL}/orders`, order.body, { ...order.params, responseCallback: FLASH_SALE_STATUSES });
  if (res.status === 201) placed.add(1);
  else if (res.status === 409) soldOut.add(1);
  check(res, { 'placed (201) or sold out (409)': r => r.status === 201 || r.status === 409 });
}
