import { Kafka, Partitioners, logLevel as KafkaLogLevel, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';

export { Kafka, CompressionTypes } from 'kafkajs';
export type { Producer, Consumer, Admin, EachMessagePayload, KafkaMessage, IHeaders } from 'kafkajs';

/** The event envelope every topic carries; the Kafka key is the aggregate id. */
export interface EventEnvelope<T = unknown> {
  /** Unique event id (UUIDv7); consumers deduplicate on it. */
  id: string;
  /** Dotted event type, e.g. `product.created`. */
  type: string;
  /** Schema version of `data` for this type. */
  version: number;
  /** ISO-8601 time the change was committed. */
  occurredAt: string;
  data: T;
}

function toPinoLevel(level: KafkaLogLevel): 'error' | 'warn' | 'info' | 'debug' {
  switch (level) {
    case KafkaLogLevel.ERROR:
    case KafkaLogLevel.NOTHING:
      return 'error';
    case KafkaLogLevel.WARN:
      return 'warn';
    case KafkaLogLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

/** A kafkajs client whose logs go to the process's JSON logger. */
export function createKafka(options: KafkaOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, timestamp: _ts, logger: _l, ...rest } = entry;
        // Expected for the outbox relay's producer, which bounds retries on purpose (see outbox.ts).
        const expected = message.startsWith('Limiting retries for the idempotent producer');
        log[expected ? 'debug' : toPinoLevel(level)]({ namespace, ...rest }, message);
      },
  });
}

/**
 * Idempotent producer (acks=all, producer id + sequence numbers): broker-side retries never
 * duplicate or reorder a partition's messages.
 */
export function createIdempotentProducer(kafka: Kafka, options: { retries?: number } = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // The Java client's murmur2 partitioner, so a key lands on the same partition whoever produces it.
    createPartitioner: Partitioners.DefaultPartitioner,
    // Unbounded by default (the idempotence guarantee); the outbox relay bounds them and replaces the producer instead.
    retry: { retries: options.retries ?? Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}

/** Readiness probe for Kafka: a metadata request over one long-lived admin connection. */
export class KafkaReadiness {
  private readonly admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  readonly check = async (): Promise<void> => {
    this.connected ??= this.admin.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    await this.admin.describeCluster();
  };

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
  }
}
