/**
 * Catalogue browsing: a page of the list, then one product's detail, at a constant arrival rate. Reads only:
 * the gateway → product → MySQL path without Kafka. Rate: 50 iterations/s (100 requests/s) × LOAD_FACTOR.
 */
import http from 'k6/http';
import { check } from 'k6';
import { BASE_URL, optionsFor, pick, rate, seedProducts, thresholdsFor, vusFor, type SeededProduct } from './common.ts';

const RATE = rate(50);

/** Requests per iteration (list + detail): what the gateway's per-IP limit must admit from one runner (cdk8s rate limits). */
export const REQUESTS_PER_ITERATION = 2;

export const options = optionsFor(
  {
    catalog: {
      executor: 'constant-arrival-rate',
      exec: 'browse',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || '3m',
      ...vusFor(RATE, 0.1),
      tags: { workload: 'catalog' },
    },
  },
  thresholdsFor('catalog', { maxFailedRate: 0.01, p95Ms: 250, p99Ms: 600 }),
);

export function setup(): { products: SeededProduct[] } {
  return { products: seedProducts(100, 1000, 'catalog') };
}

export function browse(data: { products: SeededProduct[] }): void {
  const list = http.get(`${BASE_URL}/products?limit=20`, { tags: { name: 'GET /products' } });
  check(list, { 'list 200': r => r.status === 200 });
  const detail = http.get(`${BASE_URL}/products/${pick(data.products).id}`, { tags: { name: 'GET /products/:id' } });
  check(detail, { 'detail 200': r => r.status === 200 });
}
