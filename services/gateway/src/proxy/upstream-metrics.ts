import type { Counter, Gauge, Histogram, Metrics } from '@eshop/common';
import { BREAKER_STATE_VALUE, type BreakerStateName } from './circuit-breaker';
import { UPSTREAM_ERROR_KINDS, type UpstreamErrorKind } from './upstream-errors';

/** Pool figures a metric reads at scrape time (undici's PoolStats). */
export interface PoolStatsSource {
  readonly stats: { readonly connected: number; readonly pending: number; readonly running: number };
}

/** The gateway's upstream metrics; labels stay low-cardinality (upstream name, method, status, kind). */
export class UpstreamMetrics {
  private readonly duration: Histogram<'upstream' | 'method' | 'status_code'>;
  private readonly errors: Counter<'upstream' | 'kind'>;
  private readonly breakerState: Gauge<'upstream'>;
  private readonly pools = new Map<string, PoolStatsSource>();

  constructor(metrics: Metrics) {
    this.duration = metrics.histogram({
      name: 'gateway_upstream_request_duration_seconds',
      help: 'Time from sending a request upstream until its response was fully relayed, by upstream status code.',
      labelNames: ['upstream', 'method', 'status_code'] as const,
    });
    this.errors = metrics.counter({
      name: 'gateway_upstream_errors_total',
      help: 'Upstream calls that produced no (complete) response, by kind: timeout, connect, reset, protocol, breaker_open, other.',
      labelNames: ['upstream', 'kind'] as const,
    });
    this.breakerState = metrics.gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.',
      labelNames: ['upstream'] as const,
    });
    const pools = this.pools;
    metrics.gauge({
      name: 'gateway_upstream_connections',
      help: 'Open keep-alive connections to each upstream.',
      labelNames: ['upstream'] as const,
      collect() {
        for (const [upstream, pool] of pools) this.set({ upstream }, pool.stats.connected);
      },
    });
    metrics.gauge({
      name: 'gateway_upstream_queued_requests',
      help: 'Requests waiting for a free pooled connection to each upstream.',
      labelNames: ['upstream'] as const,
      collect() {
        for (const [upstream, pool] of pools) this.set({ upstream }, pool.stats.pending);
      },
    });
  }

  /** Starts every series of an upstream at zero so rate() and alerts see it before the first error. */
  register(upstream: string, pool: PoolStatsSource): void {
    this.pools.set(upstream, pool);
    for (const kind of UPSTREAM_ERROR_KINDS) this.errors.inc({ upstream, kind }, 0);
    this.breakerState.set({ upstream }, BREAKER_STATE_VALUE.closed);
  }

  unregister(upstream: string): void {
    this.pools.delete(upstream);
  }

  observe(upstream: string, method: string, statusCode: number, seconds: number): void {
    this.duration.observe({ upstream, method, status_code: String(statusCode) }, seconds);
  }

  error(upstream: string, kind: UpstreamErrorKind): void {
    this.errors.inc({ upstream, kind });
  }

  breaker(upstream: string, state: BreakerStateName): void {
    this.breakerState.set({ upstream }, BREAKER_STATE_VALUE[state]);
  }
}
