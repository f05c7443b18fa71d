import {
  assertMigrated,
  createDatabase,
  databaseOptions,
  createKafka,
  KafkaReadiness,
  Outbox,
  pingDatabase,
  type Kafka,
  type Logger,
  type Metrics,
  type ReadinessCheck,
  type Sequelize,
} from '@eshop/common';
import { ProductClient } from './clients/product-client';
import type { ConsumerConfig, OrderConfig } from './config';
import { IdempotencyRepository } from './data/idempotency-repository';
import { orderMigrations } from './data/migrations';
import { OrderRepository } from './data/order-repository';
import { transactor } from './data/transactions';
import { Compensations } from './domain/compensations';
import type { OrderDependencies } from './domain/dependencies';
import { orderMetrics } from './domain/order-metrics';

type SharedConfig = Pick<
  OrderConfig & ConsumerConfig,
  | 'dbHost'
  | 'dbPort'
  | 'dbUser'
  | 'dbPassword'
  | 'dbName'
  | 'dbPoolMax'
  | 'kafkaBrokers'
  | 'kafkaClientId'
  | 'orderTopic'
  | 'productServiceUrl'
  | 'productTimeoutMs'
  | 'productConnectTimeoutMs'
  | 'productPoolConnections'
> &
  Partial<Pick<OrderConfig, 'retryAfterSeconds' | 'compensationAttempts' | 'idempotencyLeaseMs'>>;

/** What both order processes run on: database, Kafka with the outbox relay, product client, use-case dependencies. */
export interface OrderRuntime {
  deps: OrderDependencies;
  sequelize: Sequelize;
  kafka: Kafka;
  outbox: Outbox;
  /** The product service's inventory API (also deps.inventory). */
  productClient: ProductClient;
  /** The database: both processes are unready without it. */
  databaseReadiness: ReadinessCheck;
  /** Kafka: critical for the consumers; the API only reports it (orders are accepted while it is down: the outbox holds their events). */
  kafkaReadiness: ReadinessCheck;
  /** Waits for compensations, stops the relay, then closes the Kafka admin, product client and pool. */
  close(): Array<[string, () => Promise<void>]>;
}

export async function createRuntime(
  config: SharedConfig,
  logger: Logger,
  metrics: Metrics,
  options: { outboxPollIntervalMs?: number } = {},
): Promise<OrderRuntime> {
  const sequelize = createDatabase(databaseOptions(config), logger, metrics);
  try {
    await assertMigrated(sequelize, orderMigrations);
  } catch (err) {
    await sequelize.close();
    throw err;
  }
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId, logger });
  const kafkaReadiness = new KafkaReadiness(kafka);
  // Writes never wait for Kafka: the relay connects (and reconnects) on its own. One replica at a time
  // publishes (relay lease), so running it in both processes is safe and keeps either one self-sufficient.
  const outbox = new Outbox({ sequelize, kafka, logger, metrics, pollIntervalMs: options.outboxPollIntervalMs });
  outbox.start();

  const productClient = new ProductClient({
    baseUrl: config.productServiceUrl,
    timeoutMs: config.productTimeoutMs,
    connectTimeoutMs: config.productConnectTimeoutMs,
    connections: config.productPoolConnections,
    logger,
    metrics,
  });
  const business = orderMetrics(metrics);
  const compensations = new Compensations(productClient, logger, business, config.compensationAttempts ?? 10);
  const deps: OrderDependencies = {
    transact: transactor(sequelize),
    orders: new OrderRepository(sequelize),
    idempotency: new IdempotencyRepository(sequelize),
    outbox,
    topic: config.orderTopic,
    inventory: productClient,
    compensations,
    metrics: business,
    logger,
    retryAfterSeconds: config.retryAfterSeconds ?? 5,
    idempotencyLeaseMs: config.idempotencyLeaseMs ?? 30_000,
  };
  return {
    deps,
    sequelize,
    kafka,
    outbox,
    productClient,
    databaseReadiness: { name: 'database', check: () => pingDatabase(sequelize) },
    kafkaReadiness: { name: 'kafka', check: kafkaReadiness.check },
    close: () => [
      ['compensations', () => compensations.drain()],
      ['outbox relay', () => outbox.stop()],
      ['kafka readiness', () => kafkaReadiness.close()],
      ['product client', () => productClient.close()],
      ['database', () => sequelize.close()],
    ],
  };
}
