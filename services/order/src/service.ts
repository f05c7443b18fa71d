import { createHttpApp, createLogger, listen, Metrics, ServiceState, stopInOrder, type Logger } from '@eshop/common';
import type { OrderConfig } from './config';
import { ordersRoutes } from './http/orders-routes';
import { startOrphanSweeper } from './domain/orphan-reservations';
import { createRuntime } from './runtime';

export const SERVICE_NAME = 'order-service';

export interface OrderServiceOptions {
  /** Defaults to a JSON logger at config.logLevel. */
  logger?: Logger;
  /** Shared with runMain so /readyz fails as soon as a signal arrives. */
  state?: ServiceState;
  /** Defaults to a fresh registry. */
  metrics?: Metrics;
  /** Outbox relay poll interval (tests shorten it). */
  outboxPollIntervalMs?: number;
}

export interface RunningOrderService {
  readonly port: number;
  readonly metrics: Metrics;
  /** Drains HTTP, finishes compensations, stops the outbox relay, flushes the producer, closes the pools. */
  stop(): Promise<void>;
}

const PURGE_INTERVAL_MS = 10 * 60_000;

/** Starts the order API (POST /orders, POST /orders/async, GET, PUT status); the schema must be migrated. */
export async function startOrderService(config: OrderConfig, options: OrderServiceOptions = {}): Promise<RunningOrderService> {
  const logger = options.logger ?? createLogger(SERVICE_NAME, config.logLevel);
  const metrics = options.metrics ?? new Metrics(SERVICE_NAME);
  const state = options.state ?? new ServiceState();
  state.set('starting');

  const runtime = await createRuntime(config, logger, metrics, { outboxPollIntervalMs: options.outboxPollIntervalMs });
  const app = createHttpApp({
    logger,
    metrics,
    state,
    bodyLimit: config.httpBodyLimit,
    jsonMaxDepth: config.httpJsonMaxDepth,
    identitySecret: config.identitySecret,
    // Kafka is reported, not critical: orders are accepted while it is down (the outbox holds their events).
    readiness: [runtime.databaseReadiness, { ...runtime.kafkaReadiness, critical: false }],
    routes: (routes) => {
      routes.use('/orders', ordersRoutes(runtime.deps));
    },
  });

  let server;
  try {
    server = await listen(app, config.port, config.httpHost, config);
  } catch (err) {
    await stopInOrder(logger, runtime.close());
    throw err;
  }
  state.set('ready');
  logger.info({ port: server.port, topic: config.orderTopic, productService: config.productServiceUrl }, 'order service listening');

  // Idempotency keys are kept for the retention, then purged in batches (every replica does it; deletes are idempotent).
  const purgeExpiredKeys = async () => {
    const before = new Date(Date.now() - config.idempotencyRetentionHours * 3_600_000);
    let purged = 0;
    for (let batch = 0; batch < 100; batch++) {
      const n = await runtime.deps.idempotency.purgeOlderThan(before, 1000);
      purged += n;
      if (n < 1000) break;
    }
    if (purged > 0) logger.info({ purged }, 'expired idempotency keys purged');
  };
  const purge = setInterval(() => {
    purgeExpiredKeys().catch((err: unknown) => logger.warn({ err }, 'purging idempotency keys failed'));
  }, PURGE_INTERVAL_MS);
  purge.unref();

  const sweeper =
    config.orphanSweepIntervalMs > 0
      ? startOrphanSweeper({
          inventory: runtime.productClient,
          orders: runtime.deps.orders,
          logger,
          released: runtime.deps.metrics.orphansReleased,
          minAgeMs: config.orphanReservationAgeMs,
          intervalMs: config.orphanSweepIntervalMs,
        })
      : undefined;

  const drainMs = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2));
  const http = server;
  return {
    port: http.port,
    metrics,
    stop: async () => {
      state.set('draining');
      clearInterval(purge);
      await stopInOrder(logger, [['http', () => http.close(drainMs)], ['orphan sweep', async () => sweeper?.stop()], ...runtime.close()]);
      state.set('stopped');
    },
  };
}
