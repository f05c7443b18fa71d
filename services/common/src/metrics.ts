import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestHandler } from 'express';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets (seconds) for HTTP handlers, DB calls and Kafka sends: 1 ms … 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A process's metrics registry: default process metrics plus whatever the service registers on it. */
export class Metrics {
  readonly registry: Registry;

  constructor(readonly service: string) {
    this.registry = new Registry();
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
  }): Histogram<L> {
    return (
      this.existing(config.name) ??
      new Histogram({ buckets: LATENCY_BUCKETS, ...config, registers: [this.registry] })
    );
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
