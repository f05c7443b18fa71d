import { commonVariables, ConfigError, tracingVariables, identitySecretVariable, databaseVariables, env, kafkaVariables, loadConfig, type ConfigOf, type DatabaseOptions } from '@eshop/common';

const database = databaseVariables('ORDER', 'order_db');

const kafka = {
  ...kafkaVariables('order-service'),
  orderTopic: env.string('KAFKA_ORDER_TOPIC', {
    doc: 'Topic of order.* events (order.placed drives the consumers; every status change is published here).',
    default: 'order-events',
  }),
};

const productClient = {
  productServiceUrl: env.url('PRODUCT_SERVICE_URL', {
    doc: 'Base URL of the product service, whose internal inventory API reserves and releases stock.',
    default: 'http://127.0.0.1:8081',
  }),
  productTimeoutMs: env.integer('PRODUCT_SERVICE_TIMEOUT_MS', {
    doc: 'Deadline for one call to the product service (connect, headers and body); past it the call counts as unavailable.',
    default: 3000,
    min: 100,
    max: 60000,
  }),
  productConnectTimeoutMs: env.integer('PRODUCT_SERVICE_CONNECT_TIMEOUT_MS', {
    doc: 'Deadline for opening a TCP connection to the product service.',
    default: 1000,
    min: 50,
    max: 30000,
  }),
  productPoolConnections: env.integer('PRODUCT_SERVICE_POOL_CONNECTIONS', {
    doc: 'Most keep-alive connections per process to the product service; further calls queue.',
    default: 32,
    min: 1,
    max: 1024,
  }),
};

/** Every setting of the order API process (`dist/main.js`): env var, default and meaning. */
export const orderConfigDefinition = {
  port: env.port('ORDER_SERVICE_PORT', { doc: 'HTTP port of the order API.', default: 8082 }),
  ...database,
  ...kafka,
  ...productClient,
  retryAfterSeconds: env.integer('ORDER_RETRY_AFTER_SECONDS', {
    doc: 'Retry-After sent with 503 product_service_unavailable.',
    default: 5,
    min: 1,
    max: 3600,
  }),
  compensationAttempts: env.integer('ORDER_COMPENSATION_ATTEMPTS', {
    doc: "Attempts to release a reservation when a sync order failed after reserving or lost the reservation's answer, 200 ms apart doubling up to 5 s (10: ~26 s, enough to outlast a product-service restart); then counted in order_compensation_failures_total.",
    default: 10,
    min: 1,
    max: 20,
  }),
  idempotencyLeaseMs: env.integer('ORDER_IDEMPOTENCY_LEASE_MS', {
    doc: 'How long a sync request holds its Idempotency-Key; a retry after that (its process died) resumes the same order id.',
    default: 30000,
    min: 1000,
  }),
  idempotencyRetentionHours: env.integer('ORDER_IDEMPOTENCY_RETENTION_HOURS', {
    doc: 'How long Idempotency-Keys and their responses are kept; a retry with an older key is treated as a new request.',
    default: 24,
    min: 1,
  }),
  orphanSweepIntervalMs: env.integer('ORDER_ORPHAN_SWEEP_INTERVAL_MS', {
    doc: 'How often the order API looks for reservations whose order was never recorded (its process died between reserving and committing) and releases them; 0 turns the sweep off.',
    default: 60000,
    min: 0,
  }),
  orphanReservationAgeMs: env.integer('ORDER_ORPHAN_RESERVATION_AGE_MS', {
    doc: 'Age a held reservation without an order must reach before the sweep releases it; must exceed ORDER_IDEMPOTENCY_LEASE_MS (a retry may still be recording it).',
    default: 600000,
    min: 1000,
  }),
  identitySecret: identitySecretVariable,
  ...commonVariables,
  ...tracingVariables('order-service'),
};

/** Every setting of the order consumer process (`dist/consumer.js`). */
export const consumerConfigDefinition = {
  consumerPort: env.port('ORDER_CONSUMER_PORT', {
    doc: 'HTTP port of the consumer process: /healthz, /readyz and /metrics only.',
    default: 8083,
  }),
  ...database,
  ...kafka,
  ...kafkaVariables('order-consumer'),
  ...productClient,
  dlqTopic: env.string('ORDER_DLQ_TOPIC', {
    doc: 'Dead-letter topic: order events that can never be processed are copied here with dlq-* headers.',
    default: 'order-events.dlq',
  }),
  consumerGroup: env.string('ORDER_CONSUMER_GROUP', {
    doc: 'Kafka consumer group of the order consumers; every replica joins it and partitions are shared.',
    default: 'order-consumers',
  }),
  consumerConcurrency: env.integer('ORDER_CONSUMER_CONCURRENCY', {
    doc: 'Partitions one consumer process handles in parallel (order is kept within a partition, so per order).',
    default: 12,
    min: 1,
    max: 1000,
  }),
  consumerSessionTimeoutMs: env.integer('ORDER_CONSUMER_SESSION_TIMEOUT_MS', {
    doc: 'Kafka group session timeout: how long partitions of a crashed consumer wait before moving to a live one.',
    default: 30000,
    min: 6000,
    max: 300000,
  }),
  consumerRetryInitialMs: env.integer('ORDER_CONSUMER_RETRY_INITIAL_MS', {
    doc: 'First backoff after a transient failure (product service or database down); doubles per attempt.',
    default: 200,
    min: 1,
  }),
  consumerRetryMaxMs: env.integer('ORDER_CONSUMER_RETRY_MAX_MS', {
    doc: 'Longest backoff between retries of one message (product service or database outages are retried until they end; other failures are dead-lettered after 10 attempts).',
    default: 30000,
    min: 1,
  }),
  ...commonVariables,
  ...tracingVariables('order-consumer'),
};

/** The subset the migration job needs: no Kafka, no HTTP. */
export const migrationConfigDefinition = {
  ...database,
  logLevel: commonVariables.logLevel,
};

/** The DLQ replay tool: Kafka and topics only. */
export const replayConfigDefinition = {
  ...kafkaVariables('order-dlq-replay'),
  dlqTopic: consumerConfigDefinition.dlqTopic,
  replayGroup: env.string('ORDER_DLQ_REPLAY_GROUP', {
    doc: 'Consumer group of the DLQ replay tool: it remembers which dead letters were already replayed.',
    default: 'order-dlq-replay',
  }),
  logLevel: commonVariables.logLevel,
};

export type OrderConfig = ConfigOf<typeof orderConfigDefinition>;
export type ConsumerConfig = ConfigOf<typeof consumerConfigDefinition>;
export type MigrationConfig = ConfigOf<typeof migrationConfigDefinition>;
export type ReplayConfig = ConfigOf<typeof replayConfigDefinition>;

export function loadOrderConfig(source: NodeJS.ProcessEnv = process.env): OrderConfig {
  const config = loadConfig(orderConfigDefinition, source);
  if (config.orphanReservationAgeMs <= config.idempotencyLeaseMs) {
    throw new ConfigError([
      `ORDER_ORPHAN_RESERVATION_AGE_MS (${config.orphanReservationAgeMs}) must exceed ORDER_IDEMPOTENCY_LEASE_MS (${config.idempotencyLeaseMs}): a retried request may still be recording an order that young`,
    ]);
  }
  return config;
}
export const loadConsumerConfig = (source: NodeJS.ProcessEnv = process.env): ConsumerConfig =>
  loadConfig(consumerConfigDefinition, source);
export const loadMigrationConfig = (source: NodeJS.ProcessEnv = process.env): MigrationConfig =>
  loadConfig(migrationConfigDefinition, source);
export const loadReplayConfig = (source: NodeJS.ProcessEnv = process.env): ReplayConfig => loadConfig(replayConfigDefinition, source);

