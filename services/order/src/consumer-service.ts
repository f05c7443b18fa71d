import {
  createHttpApp,
  createIdempotentProducer,
  createLogger,
  EventConsumer,
  isTransientDatabaseError,
  listen,
  Metrics,
  ServiceState,
  stopInOrder,
  type Logger,
} from '@eshop/common';
import { ProductServiceUnavailableError } from './clients/product-client';
import type { ConsumerConfig } from './config';
import { orderEventsHandler } from './kafka/order-events-consumer';
import { createRuntime } from './runtime';

export const CONSUMER_NAME = 'order-consumer';

export interface OrderConsumerOptions {
  logger?: Logger;
  state?: ServiceState;
  metrics?: Metrics;
  outboxPollIntervalMs?: number;
}

export interface RunningOrderConsumer {
  /** Port of /healthz, /readyz and /metrics. */
  readonly port: number;
  readonly metrics: Metrics;
  /** Stops fetching and commits what is handled, then stops the relay, flushes the producer and closes the pools. */
  stop(): Promise<void>;
}

/**
 * Starts an order consumer: joins ORDER_CONSUMER_GROUP on KAFKA_ORDER_TOPIC, settles pending orders
 * and releases the stock of cancelled and rejected ones. Its own Deployment, scaled on consumer lag.
 */
export async function startOrderConsumer(config: ConsumerConfig, options: OrderConsumerOptions = {}): Promise<RunningOrderConsumer> {
  const logger = options.logger ?? createLogger(CONSUMER_NAME, config.logLevel);
  const metrics = options.metrics ?? new Metrics(CONSUMER_NAME);
  const state = options.state ?? new ServiceState();
  state.set('starting');

  const runtime = await createRuntime(config, logger, metrics, { outboxPollIntervalMs: options.outboxPollIntervalMs });
  // Dead letters only (events go through the outbox relay); the API process has no use for one.
  const producer = createIdempotentProducer(runtime.kafka, { metrics });
  const consumer = new EventConsumer({
    kafka: runtime.kafka,
    logger,
    metrics,
    groupId: config.consumerGroup,
    topic: config.orderTopic,
    deadLetterTopic: config.dlqTopic,
    producer,
    handle: orderEventsHandler(runtime.deps),
    concurrency: config.consumerConcurrency,
    retry: { initialMs: config.consumerRetryInitialMs, maxMs: config.consumerRetryMaxMs },
    sessionTimeoutMs: config.consumerSessionTimeoutMs,
    // A product service or database outage is waited out; anything else (a bug, an unexpected answer)
    // is dead-lettered after a few attempts instead of blocking its partition.
    isTransient: (err) => err instanceof ProductServiceUnavailableError || isTransientDatabaseError(err),
  });

  const app = createHttpApp({
    logger,
    metrics,
    state,
    bodyLimit: config.httpBodyLimit,
    jsonMaxDepth: config.httpJsonMaxDepth,
    readiness: [runtime.databaseReadiness, runtime.kafkaReadiness],
    accessLog: false,
    routes: () => {},
  });
  let server;
  try {
    // Health and metrics answer while the consumer joins its group.
    server = await listen(app, config.consumerPort, config.httpHost, config);
    // Dead letters go through this producer; connect it before the first message.
    await producer.connect();
    await consumer.start();
  } catch (err) {
    await server?.close(1000);
    await stopInOrder(logger, [['consumer', () => consumer.stop()], ['dead-letter producer', () => producer.disconnect()], ...runtime.close()]);
    throw err;
  }
  state.set('ready');
  logger.info({ port: server.port, topic: config.orderTopic, group: config.consumerGroup }, 'order consumer running');

  const drainMs = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2));
  const http = server;
  return {
    port: http.port,
    metrics,
    stop: async () => {
      state.set('draining');
      await stopInOrder(logger, [
        ['consumer', () => consumer.stop()],
        ['http', () => http.close(drainMs)],
        ['dead-letter producer', () => producer.disconnect()],
        ...runtime.close(),
      ]);
      state.set('stopped');
    },
  };
}
