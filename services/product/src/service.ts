import {
  assertMigrated,
  createDatabase,
  databaseOptions,
  createHttpApp,
  createKafka,
  createLogger,
  KafkaReadiness,
  listen,
  Metrics,
  Outbox,
  pingDatabase,
  ServiceState,
  stopInOrder,
  type Logger,
} from '@eshop/common';
import type { ProductConfig } from './config';
import { productMigrations } from './data/migrations';
import { ProductRepository } from './data/product-repository';
import { ReservationRepository } from './data/reservation-repository';
import { transactor } from './data/transactions';
import type { InventoryDependencies } from './domain/inventory';
import { ProductCatalog } from './domain/product-catalog';
import { productMetrics } from './domain/product-metrics';
import { productsRoutes } from './http/products-routes';
import { reservationsRoutes } from './http/reservations-routes';

export const SERVICE_NAME = 'product-service';

export interface ProductServiceOptions {
  /** Defaults to a JSON logger at config.logLevel. */
  logger?: Logger;
  /** Shared with runMain so /readyz fails as soon as a signal arrives. */
  state?: ServiceState;
  /** Defaults to a fresh registry. */
  metrics?: Metrics;
  /** Outbox relay poll interval (tests shorten it). */
  outboxPollIntervalMs?: number;
}

export interface RunningProductService {
  readonly port: number;
  readonly metrics: Metrics;
  /** Drains HTTP, stops the outbox relay (flushing its producer), closes Kafka admin and the DB pool. */
  stop(): Promise<void>;
}

/** Starts the product and inventory service; the schema must already be migrated (dist/migrate.js). */
export async function startProductService(
  config: ProductConfig,
  options: ProductServiceOptions = {},
): Promise<RunningProductService> {
  const logger = options.logger ?? createLogger(SERVICE_NAME, config.logLevel);
  const metrics = options.metrics ?? new Metrics(SERVICE_NAME);
  const state = options.state ?? new ServiceState();
  state.set('starting');

  const sequelize = createDatabase(databaseOptions(config), logger, metrics);
  try {
    await assertMigrated(sequelize, productMigrations);
  } catch (err) {
    await sequelize.close();
    throw err;
  }

  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId, logger });
  const kafkaReadiness = new KafkaReadiness(kafka);
  // Writes never wait for Kafka: the relay connects (and reconnects) on its own.
  const outbox = new Outbox({ sequelize, kafka, logger, metrics, pollIntervalMs: options.outboxPollIntervalMs });
  outbox.start();

  const business = productMetrics(metrics);
  const products = new ProductRepository(sequelize);
  const transact = transactor(sequelize);
  const catalog = new ProductCatalog({ transact, products, outbox, topic: config.productTopic, metrics: business });
  const inventory: InventoryDependencies = {
    transact,
    products,
    reservations: new ReservationRepository(sequelize),
    outbox,
    topic: config.productTopic,
    metrics: business,
  };

  const app = createHttpApp({
    logger,
    metrics,
    state,
    bodyLimit: config.httpBodyLimit,
    jsonMaxDepth: config.httpJsonMaxDepth,
    identitySecret: config.identitySecret,
    readiness: [
      { name: 'database', check: () => pingDatabase(sequelize) },
      // Reported, not critical: writes and reservations commit their events to the outbox, which waits for Kafka.
      { name: 'kafka', check: kafkaReadiness.check, critical: false },
    ],
    routes: (routes) => {
      routes.use('/products', productsRoutes({ catalog, requireIfMatch: config.requireIfMatch }));
      routes.use('/internal/reservations', reservationsRoutes(inventory));
    },
  });

  const http = await listen(app, config.port, config.httpHost, config).catch(async (err: unknown) => {
    await outbox.stop();
    await sequelize.close();
    throw err;
  });
  state.set('ready');
  logger.info({ port: http.port, topic: config.productTopic }, 'product service listening');

  // Half the shutdown budget for in-flight requests; the rest for the relay, producer and pool.
  const drainMs = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 2));
  return {
    port: http.port,
    metrics,
    stop: async () => {
      state.set('draining');
      await stopInOrder(logger, [
        ['http', () => http.close(drainMs)],
        ['outbox relay', () => outbox.stop()],
        ['kafka readiness', () => kafkaReadiness.close()],
        ['database', () => sequelize.close()],
      ]);
      state.set('stopped');
    },
  };
}
