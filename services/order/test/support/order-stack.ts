/**
 * The order service as the tests run it: the real product service in-process, a migrated order
 * database, unique order/DLQ topics and consumer group, the order API in-process, and consumers
 * in-process (startConsumer) or as built child processes (see consumer-process.ts).
 *
 * By default everything is on the shared local MariaDB and Kafka. Fault tests put the order topics and/or
 * the order database on infrastructure they own (`brokers`, `orderDb`; see dedicated-infra.ts), so they can
 * stop and restart it; the product service stays on the shared infrastructure: it is the order service's
 * dependency there, not the thing under fault.
 */
import './node-version';
import { createDatabase, Metrics, migrate } from '@eshop/common';
import {
  ADMIN,
  serviceAuthEnv,
  ApiClient,
  createTestDatabase,
  createTopic,
  deleteTopics,
  kafkaBrokers,
  silentLogger,
  testKafka,
  uniqueName,
  type TestDatabase,
} from '@eshop/test-support';
import type { Kafka } from 'kafkajs';
import { loadConsumerConfig, loadOrderConfig } from '../../src/config';
import { startOrderConsumer, type RunningOrderConsumer } from '../../src/consumer-service';
import { orderMigrations } from '../../src/data/migrations';
import { startOrderService, type RunningOrderService } from '../../src/service';
import { TestProductService } from './product-service';

export interface OrderStackOptions {
  /** Database, topic and group name prefix. */
  name: string;
  /** Where the order topics live and the order processes connect. Default: the shared broker. */
  brokers?: string[];
  /** An empty order database (migrated here). Default: a fresh one on the shared server. */
  orderDb?: TestDatabase;
  /** Partitions of the order topic. */
  partitions?: number;
  /** Extra or overriding environment variables of the order processes. */
  env?: Record<string, string>;
  /** Infrastructure still starting (a dedicated broker or server): awaited before the order topics and database are used. */
  infrastructure?: Promise<unknown>;
}

export class OrderStack {
  readonly api: ApiClient;
  readonly consumers: RunningOrderConsumer[] = [];

  private constructor(
    readonly product: TestProductService,
    readonly db: TestDatabase,
    readonly kafka: Kafka,
    readonly topic: string,
    readonly dlqTopic: string,
    readonly env: Record<string, string>,
    readonly service: RunningOrderService,
  ) {
    this.api = new ApiClient(`http://127.0.0.1:${service.port}`, { as: ADMIN });
  }

  static async start(options: OrderStackOptions): Promise<OrderStack> {
    const brokers = options.brokers ?? kafkaBrokers();
    const kafka = testKafka(brokers);
    const [started, infrastructure] = await Promise.allSettled([TestProductService.start(options.name), options.infrastructure]);
    if (started.status === 'rejected') throw started.reason;
    const product = started.value;
    if (infrastructure.status === 'rejected') {
      await product.close();
      throw infrastructure.reason;
    }
    const db = options.orderDb ?? (await createTestDatabase(`${options.name}_o`));
    const sequelize = createDatabase(db.options, silentLogger, new Metrics('order-test-migrate'));
    try {
      await migrate(sequelize, orderMigrations, silentLogger);
    } finally {
      await sequelize.close();
    }
    const topic = await createTopic(`${options.name}-order-events`, options.partitions ?? 6, kafka);
    const dlqTopic = await createTopic(`${options.name}-order-dlq`, 1, kafka);
    const env: Record<string, string> = {
      ORDER_SERVICE_PORT: '0',
      ORDER_CONSUMER_PORT: '0',
      ORDER_DB_HOST: db.options.host,
      ORDER_DB_PORT: String(db.options.port),
      ORDER_DB_USER: db.options.user,
      ORDER_DB_PASSWORD: db.options.password,
      ORDER_DB_NAME: db.options.database,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_ORDER_TOPIC: topic,
      ORDER_DLQ_TOPIC: dlqTopic,
      ORDER_CONSUMER_GROUP: uniqueName(`${options.name}-consumers`),
      PRODUCT_SERVICE_URL: product.url,
      PRODUCT_SERVICE_TIMEOUT_MS: '3000',
      ORDER_CONSUMER_SESSION_TIMEOUT_MS: '6000',
      ORDER_CONSUMER_RETRY_INITIAL_MS: '50',
      ORDER_CONSUMER_RETRY_MAX_MS: '500',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...serviceAuthEnv(),
      ...options.env,
    };
    const service = await startOrderService(loadOrderConfig(env), { logger: silentLogger, outboxPollIntervalMs: 100 });
    return new OrderStack(product, db, kafka, topic, dlqTopic, env, service);
  }

  /** Starts one more in-process order consumer in the stack's group. */
  async startConsumer(env: Record<string, string> = {}): Promise<RunningOrderConsumer> {
    const consumer = await startOrderConsumer(loadConsumerConfig({ ...this.env, ...env }), { logger: silentLogger, outboxPollIntervalMs: 100 });
    this.consumers.push(consumer);
    return consumer;
  }

  private apiStopped = false;

  /** Stops the in-process order API for good: a test that runs the API as a process of its own instead (service-process.ts). */
  async stopApi(): Promise<void> {
    if (this.apiStopped) return;
    this.apiStopped = true;
    await this.service.stop();
  }

  async stopConsumers(): Promise<void> {
    while (this.consumers.length > 0) await this.consumers.pop()!.stop();
  }

  /** Stops everything and drops the databases; the topics are deleted only from a broker that still runs. */
  async close(): Promise<void> {
    await this.stopConsumers();
    await this.stopApi();
    await this.product.close();
    await this.db.drop();
    await deleteTopics([this.topic, this.dlqTopic], this.kafka);
  }

  /** Order counts by status, straight from the database. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM orders GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async statusesOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; status: string }>('SELECT id, status FROM orders WHERE id IN (?)', [ids]);
    return new Map(rows.map((r) => [r.id, r.status]));
  }
}
