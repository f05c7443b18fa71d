import { measured, randomOf, type BenchContext, type Window } from './context';
import { round } from './load';

export interface CatalogEndpointResult {
  readonly endpoint: string;
  readonly direct: Window[];
  readonly gateway: Window[];
  /** Mean 2xx/s over the rounds. */
  readonly directPerSecond: number;
  readonly gatewayPerSecond: number;
  /** gateway / direct, in %. */
  readonly ratioPercent: number;
}

/**
 * Catalogue reads through the gateway and directly against the product service, interleaved over
 * rounds (direct first in even rounds, gateway first in odd ones) so drift on a shared machine hits
 * both sides alike.
 */
export async function catalogReads(ctx: BenchContext): Promise<CatalogEndpointResult[]> {
  const { options } = ctx;
  const endpoints = [
    { endpoint: 'GET /products/:id', path: '/products/1', vary: () => ({ path: `/products/${randomOf(ctx.productIds)}` }) },
    { endpoint: 'GET /products?limit=20', path: '/products?limit=20', vary: undefined },
  ];
  const results: CatalogEndpointResult[] = [];
  for (const e of endpoints) {
    const windows = { direct: [] as Window[], gateway: [] as Window[] };
    for (let r = 0; r < options.catalogRounds; r++) {
      const order: ('direct' | 'gateway')[] = r % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
      for (const target of order) {
        const w = await measured(ctx, {
          title: `${e.endpoint} ${target}`,
          origin: target === 'direct' ? ctx.product : ctx.gateway,
          connections: options.catalogConnections,
          seconds: options.catalogSeconds,
          request: { method: 'GET', path: e.path, ...(e.vary ? { vary: e.vary } : {}) },
        });
        windows[target].push(w);
        ctx.log(`  ${e.endpoint} ${target.padEnd(7)} ${w.load.okPerSecond.toFixed(0).padStart(6)} ok/s  p95 ${w.load.latencyMs.p95} ms`);
      }
    }
    const mean = (ws: Window[]) => round(ws.reduce((a, w) => a + w.load.okPerSecond, 0) / ws.length, 0);
    const directPerSecond = mean(windows.direct);
    const gatewayPerSecond = mean(windows.gateway);
    results.push({
      endpoint: e.endpoint,
      ...windows,
      directPerSecond,
      gatewayPerSecond,
      ratioPercent: directPerSecond > 0 ? round((gatewayPerSecond / directPerSecond) * 100, 1) : 0,
    });
  }
  return results;
}
