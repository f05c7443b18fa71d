/** Helpers for integration tests against the local MariaDB and Kafka (started by ./local/platform.sh infra). */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import pino from 'pino';
import type { DatabaseOptions } from '../src/db';

export * from './http-client';
export * from './auth';
export * from './ports';
export * from './uploads';
export * from './dedicated-infra';

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Lower-case unique suffix so repeated runs never collide on database, topic or group names. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

function serverOptions() {
  return {
    host: process.env.PRODUCT_DB_HOST ?? '127.0.0.1',
    port: Number(process.env.PRODUCT_DB_PORT ?? 3307),
    user: process.env.PRODUCT_DB_USER ?? 'eshop',
    password: process.env.PRODUCT_DB_PASSWORD ?? 'eshop',
  };
}

export interface TestDatabase {
  options: DatabaseOptions;
  /** Runs SQL as the test user against this database (for assertions). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, empty database on the local server, dropped by `drop()`. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const server = serverOptions();
  const name = uniqueName(`t_${prefix}`);
  const admin = await mysql.createConnection(server);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const pool = mysql.createPool({ ...server, database: name, connectionLimit: 4, decimalNumbers: false });
  return {
    options: { ...server, database: name, poolMax: 20 },
    query: async <T>(sql: string, params: unknown[] = []) => {
      const [rows] = await pool.query(sql, params);
      return rows as T[];
    },
    drop: async () => {
      await pool.end();
      const conn = await mysql.createConnection(server);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

export function kafkaBrokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
}

export function testKafka(brokers: string[] = kafkaBrokers()): Kafka {
  return new Kafka({ clientId: 'eshop-tests', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

/** Creates topics with a unique name (and the given partitions) and returns the name. */
export async function createTopic(prefix: string, partitions = 3, kafka: Kafka = testKafka()): Promise<string> {
  const topic = uniqueName(prefix).replace(/_/g, '-');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
    // kafkajs's waitForLeaders retries only LEADER_NOT_AVAILABLE; on a busy machine the broker can still answer
    // UNKNOWN_TOPIC_OR_PARTITION for a moment, so wait until every partition has a leader ourselves.
    await eventually(async () => {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const led = (meta?.partitions ?? []).filter((p) => p.leader >= 0).length;
      if (led !== partitions) throw new Error(`topic ${topic}: ${led} of ${partitions} partitions have a leader`);
    }, 30_000, 100);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

export async function deleteTopics(topics: string[], kafka: Kafka = testKafka()): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } catch {
    // best effort: a leftover test topic is harmless
  } finally {
    await admin.disconnect();
  }
}

export interface CollectedMessage {
  topic: string;
  partition: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
}

/** Consumes a topic from the beginning in its own group and keeps every message for assertions. */
export class MessageCollector {
  readonly messages: CollectedMessage[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly topic: string,
    private readonly kafka: Kafka = testKafka(),
  ) {}

  async start(): Promise<this> {
    this.consumer = this.kafka.consumer({ groupId: uniqueName('collector'), sessionTimeout: 10000 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        this.messages.push(decode(topic, partition, message));
      },
    });
    return this;
  }

  async waitFor(count: number, timeoutMs = 30000): Promise<CollectedMessage[]> {
    await eventually(() => {
      if (this.messages.length < count) throw new Error(`got ${this.messages.length} of ${count} messages on ${this.topic}`);
    }, timeoutMs);
    return this.messages;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

function decode(topic: string, partition: number, message: KafkaMessage): CollectedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
  const raw = message.value?.toString() ?? '';
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // keep the raw string
  }
  return { topic, partition, key: message.key?.toString() ?? null, value, headers };
}

/** Retries `check` until it stops throwing or `timeoutMs` passes (then rethrows its last error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
