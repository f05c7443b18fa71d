import client, { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { RequestHandler } from 'express';
import { runningTracing } from './tracing';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets (seconds) for HTTP handlers, DB calls and Kafka sends: 1 ms … 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A process's metrics registry: default process metrics plus whatever the service registers on it.
 *
 * With tracing on, the registry speaks OpenMetrics, the exposition format that carries exemplars: histograms created
 * with `exemplars: true` then link a bucket to the trace of a request that landed in it (`trace_id`). Prometheus
 * reads either format; with tracing off the output is the classic text format, byte for byte as before.
 */
export class Metrics {
  readonly registry: Registry<RegistryContentType>;
  /** Whether histograms asking for exemplars get them (OpenMetrics registry, tracing on). */
  readonly exemplars: boolean;

  constructor(
    readonly service: string,
    options: { exemplars?: boolean } = {},
  ) {
    this.exemplars = options.exemplars ?? runningTracing().enabled;
    this.registry = new Registry<RegistryContentType>();
    if (this.exemplars) this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.registry.setDefaultLabels({ service });
    client.collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(config: { name: string; help: string; labelNames?: readonly L[] }): Counter<L> {
    return this.existing(config.name) ?? new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: {
    name: string;
    help: string;
    labelNames?: readonly L[];
    collect?: (this: Gauge<L>) => void | Promise<void>;
  }): Gauge<L> {
    return this.existing(config.name) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: {
    name: string;
    help: string;
    labelNames?: readonly L[];
    buckets?: number[];
    /** Keep an exemplar (`trace_id`) per bucket when the registry supports them; observe with `observeTraced`. */
    exemplars?: boolean;
  }): Histogram<L> {
    const { exemplars, ...rest } = config;
    return (
      this.existing(config.name) ??
      new Histogram({ buckets: LATENCY_BUCKETS, ...rest, enableExemplars: Boolean(exemplars) && this.exemplars, registers: [this.registry] })
    );
  }

  /** Observes `value`, with the trace it belongs to as the exemplar when `histogram` keeps exemplars and a trace id is known. */
  observeTraced<L extends string>(histogram: Histogram<L>, labels: Partial<Record<L, string | number>>, value: number, traceId: string | undefined): void {
    if ((histogram as unknown as { enableExemplars?: boolean }).enableExemplars) {
      histogram.observe({ labels, value, exemplarLabels: traceId ? ({ trace_id: traceId } as Partial<Record<L, string>>) : {} });
    } else {
      histogram.observe(labels, value);
    }
  }

  /** `GET /metrics` handler in the Prometheus text format. */
  handler(): RequestHandler {
    return async (_req, res, next) => {
      try {
        const body = await this.registry.metrics();
        res.type(this.registry.contentType).send(body);
      } catch (err) {
        next(err);
      }
    };
  }

  // Registering the same name twice would throw; components created twice in one process share one metric.
  private existing<T>(name: string): T | undefined {
    return this.registry.getSingleMetric(name) as T | undefined;
  }
}
