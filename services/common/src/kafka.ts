import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type LogEntry,
  type Producer,
  type ProducerBatch,
  type ProducerRecord,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { Counter, Histogram, Metrics } from './metrics';

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

/** Options of {@link createIdempotentProducer}. */
export interface IdempotentProducerOptions {
  /** Every send is counted and timed on this registry (kafka_producer_* metrics). */
  metrics: Metrics;
  /** Client-side retries of a failed send; default unbounded (the idempotence guarantee). */
  retries?: number;
}

/**
 * Idempotent producer (acks=all, producer id + sequence numbers): broker-side retries never
 * duplicate or reorder a partition's messages. Every `send`/`sendBatch` is measured per topic.
 */
export function createIdempotentProducer(kafka: Kafka, options: IdempotentProducerOptions): Producer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // The Java client's murmur2 partitioner, so a key lands on the same partition whoever produces it.
    createPartitioner: Partitioners.DefaultPartitioner,
    // Unbounded by default (the idempotence guarantee); the outbox relay bounds them and replaces the producer instead.
    retry: { retries: options.retries ?? Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  return instrumentProducer(producer, options.metrics);
}

export interface ProducerMetrics {
  sent: Counter<'topic'>;
  failures: Counter<'topic'>;
  duration: Histogram<'topic'>;
}

/** Registers the kafka_producer_* metrics (idempotent), so /metrics lists them before the first producer exists. */
export function producerMetrics(metrics: Metrics): ProducerMetrics {
  return {
    sent: metrics.counter({
      name: 'kafka_producer_messages_sent_total',
      help: 'Messages the Kafka cluster acknowledged (acks=all), by topic.',
      labelNames: ['topic'] as const,
    }),
    failures: metrics.counter({
      name: 'kafka_producer_send_failures_total',
      help: "Send requests that failed after the producer's own retries, by topic (a request carrying two topics counts for each).",
      labelNames: ['topic'] as const,
    }),
    duration: metrics.histogram({
      name: 'kafka_producer_send_duration_seconds',
      help: 'Time from a send request until the cluster acknowledged it, retries included, by topic (successful sends only).',
      labelNames: ['topic'] as const,
    }),
  };
}

/** Wraps `send` and `sendBatch` with the kafka_producer_* metrics; everything else is the kafkajs producer. */
export function instrumentProducer(producer: Producer, metrics: Metrics): Producer {
  const m = producerMetrics(metrics);
  const seen = new Set<string>();
  const measured = async <R>(counts: Map<string, number>, send: () => Promise<R>): Promise<R> => {
    for (const topic of counts.keys()) {
      // The failure series starts at 0 with a topic's first send, so rate() and alerts see it before any failure.
      if (!seen.has(topic)) {
        seen.add(topic);
        m.failures.inc({ topic }, 0);
      }
    }
    const start = process.hrtime.bigint();
    try {
      const result = await send();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      for (const [topic, n] of counts) {
        m.sent.inc({ topic }, n);
        m.duration.observe({ topic }, seconds);
      }
      return result;
    } catch (err) {
      for (const topic of counts.keys()) m.failures.inc({ topic });
      throw err;
    }
  };
  return {
    ...producer,
    send: (record: ProducerRecord) => measured(new Map([[record.topic, record.messages.length]]), () => producer.send(record)),
    sendBatch: (batch: ProducerBatch) => {
      const counts = new Map<string, number>();
      for (const { topic, messages } of batch.topicMessages ?? []) counts.set(topic, (counts.get(topic) ?? 0) + messages.length);
      return measured(counts, () => producer.sendBatch(batch));
    },
  };
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
