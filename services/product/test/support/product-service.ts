/** Starts the product service in-process against its own test database and topic, as the tests do. */
import { createDatabase, Metrics, migrate } from '@eshop/common';
import { serviceAuthEnv, createTestDatabase, createTopic, deleteTopics, kafkaBrokers, silentLogger, testKafka, type TestDatabase } from '@eshop/test-support';
import { loadProductConfig } from '../../src/config';
import { productMigrations } from '../../src/data/migrations';
import { startProductService, type RunningProductService } from '../../src/service';

export interface TestProductService {
  url: string;
  db: TestDatabase;
  topic: string;
  brokers: string[];
  service: RunningProductService;
  /** Stops the service, drops the database and deletes the topic. */
  close(): Promise<void>;
}

export interface TestServiceOptions {
  /** Database name prefix, to tell test databases apart in `SHOW DATABASES`. */
  name: string;
  brokers?: string[];
  /** Extra or overriding environment variables (e.g. PRODUCT_REQUIRE_IF_MATCH). */
  env?: Record<string, string>;
}

/** Environment the service reads, pointing at a test database and topic. */
export function serviceEnv(db: TestDatabase, topic: string, brokers: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    PRODUCT_SERVICE_PORT: '0',
    PRODUCT_DB_HOST: db.options.host,
    PRODUCT_DB_PORT: String(db.options.port),
    PRODUCT_DB_USER: db.options.user,
    PRODUCT_DB_PASSWORD: db.options.password,
    PRODUCT_DB_NAME: db.options.database,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_PRODUCT_TOPIC: topic,
    KAFKA_CLIENT_ID: 'product-service-test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_TIMEOUT_MS: '10000',
    ...serviceAuthEnv(),
    ...extra,
  };
}

/** A fresh database with every product migration applied. */
export async function migratedDatabase(name: string): Promise<TestDatabase> {
  const db = await createTestDatabase(name);
  const sequelize = createDatabase(db.options, silentLogger, new Metrics('product-test-migrate'));
  try {
    await migrate(sequelize, productMigrations, silentLogger);
  } finally {
    await sequelize.close();
  }
  return db;
}

export async function startTestService(options: TestServiceOptions): Promise<TestProductService> {
  const brokers = options.brokers ?? kafkaBrokers();
  const db = await migratedDatabase(options.name);
  const kafka = testKafka(brokers);
  const topic = await createTopic(`${options.name}-events`, 3, kafka);
  const config = loadProductConfig(serviceEnv(db, topic, brokers, options.env));
  const service = await startProductService(config, { logger: silentLogger, outboxPollIntervalMs: 100 });
  return {
    url: `http://127.0.0.1:${service.port}`,
    db,
    topic,
    brokers,
    service,
    close: async () => {
      await service.stop();
      await db.drop();
      await deleteTopics([topic], kafka);
    },
  };
}
