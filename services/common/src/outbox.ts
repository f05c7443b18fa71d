import { uuidv7 } from 'uuidv7';
import { QueryTypes, Transaction, type Sequelize } from 'sequelize';
import type { Kafka, Producer, Message } from 'kafkajs';
import type { Logger } from 'pino';
import type { Migration } from './db';
import { createIdempotentProducer, producerMetrics, type EventEnvelope } from './kafka';
import type { Metrics } from './metrics';
import { contextFromHeaders, currentTraceHeaders, failSpan, hasTraceContext, SpanKind, startSpan, trace, withTraceHeaders, type Span } from './trace-context';

/** An event to publish once the surrounding transaction commits. */
export interface OutboxEvent<T = unknown> {
  topic: string;
  /** Aggregate id; Kafka orders events per key. */
  key: string;
  type: string;
  version?: number;
  data: T;
  headers?: Record<string, string>;
}

const TABLE = 'outbox_events';
const LEASES = 'outbox_relay_leases';
const LEASE = 'relay';

/** Migration creating the outbox and relay-lease tables; services list it among their own. */
export function outboxMigration(name = '0000-create-outbox'): Migration {
  return {
    name,
    up: async ({ context }) => {
      await context.sequelize.query(`
        CREATE TABLE IF NOT EXISTS ${TABLE} (
          id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
          event_id CHAR(36) NOT NULL,
          topic VARCHAR(249) NOT NULL,
          message_key VARCHAR(255) NOT NULL,
          event_type VARCHAR(100) NOT NULL,
          payload LONGTEXT NOT NULL,
          headers TEXT NULL,
          created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
      await context.sequelize.query(`
        CREATE TABLE IF NOT EXISTS ${LEASES} (name VARCHAR(64) NOT NULL PRIMARY KEY) ENGINE=InnoDB`);
      await context.sequelize.query(`INSERT IGNORE INTO ${LEASES} (name) VALUES ('${LEASE}')`);
    },
    down: async ({ context }) => {
      await context.sequelize.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await context.sequelize.query(`DROP TABLE IF EXISTS ${LEASES}`);
    },
  };
}

export interface OutboxOptions {
  sequelize: Sequelize;
  /** The relay creates its own idempotent producer from this client. */
  kafka: Kafka;
  logger: Logger;
  metrics: Metrics;
  /** Longest sleep between polls when nobody wakes the relay (other replicas' writes, crash leftovers). */
  pollIntervalMs?: number;
  batchSize?: number;
}

interface OutboxRow {
  id: string | number;
  topic: string;
  message_key: string;
  event_id: string;
  event_type: string;
  payload: string;
  headers: string | null;
  created_at: Date;
}

/**
 * Transactional outbox: `enqueue` writes events in the caller's transaction; the relay publishes
 * committed rows in id order with the idempotent producer and deletes them in the same transaction
 * that holds the relay lease. A crash between send and delete republishes (at-least-once, same
 * event id); a rolled-back transaction never publishes. One replica publishes at a time (the lease
 * row is locked FOR UPDATE SKIP LOCKED), which keeps per-key order across replicas.
 *
 * Sends are bounded (a few retries, ~10 s): during a Kafka outage the batch fails, its transaction
 * rolls back and the relay backs off instead of holding a connection and the lease for the whole
 * outage. After a failed send the producer is replaced, so a batch that reached the broker unacknowledged
 * is re-sent under a new producer id: a possible duplicate (same event id), never a stuck sequence.
 */
export class Outbox {
  private readonly sequelize: Sequelize;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private readonly published;
  private readonly failures;
  private readonly sendDuration;
  private readonly delay;

  constructor(options: OutboxOptions) {
    this.sequelize = options.sequelize;
    this.kafka = options.kafka;
    this.logger = options.logger.child({ component: 'outbox-relay' });
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.batchSize = options.batchSize ?? 500;
    const { metrics } = options;
    this.metrics = metrics;
    producerMetrics(metrics); // the relay creates its producer lazily; its metrics are listed from the start
    this.published = metrics.counter({
      name: 'outbox_events_published_total',
      help: 'Outbox events published to Kafka.',
      labelNames: ['topic'] as const,
    });
    this.failures = metrics.counter({
      name: 'outbox_publish_failures_total',
      help: 'Outbox relay batches that failed to publish and will be retried.',
    });
    this.sendDuration = metrics.histogram({
      name: 'outbox_publish_duration_seconds',
      help: 'Time to publish one outbox batch to Kafka (acks=all).',
    });
    this.delay = metrics.histogram({
      name: 'outbox_event_delay_seconds',
      help: 'Time from an event being committed to the outbox until Kafka acknowledged it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    const self = this;
    metrics.gauge({
      name: 'outbox_backlog_events',
      help: 'Events written to the outbox and not yet published.',
      async collect() {
        this.set((await self.backlogForScrape()).count);
      },
    });
    metrics.gauge({
      name: 'outbox_oldest_event_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when empty).',
      async collect() {
        this.set((await self.backlogForScrape()).oldestAgeSeconds);
      },
    });
  }

  private lastBacklog: { at: number; value: Promise<{ count: number; oldestAgeSeconds: number }> } | undefined;
  private lastGoodBacklog = { count: 0, oldestAgeSeconds: 0 };

  /**
   * One query serves both gauges of a scrape; when the database is down the last known values are
   * reported, because a failing collect would fail the whole /metrics response — exactly when it is needed.
   */
  private backlogForScrape(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const now = Date.now();
    if (!this.lastBacklog || now - this.lastBacklog.at > 1000) {
      this.lastBacklog = {
        at: now,
        value: this.backlog().then(
          (value) => (this.lastGoodBacklog = value),
          (err: unknown) => {
            this.logger.debug({ err }, 'outbox backlog query failed; reporting the last known values');
            return this.lastGoodBacklog;
          },
        ),
      };
    }
    return this.lastBacklog.value;
  }

  /**
   * Writes events inside `transaction`; the relay is woken once it commits. Each row keeps the trace context of the
   * work that wrote it (W3C traceparent/tracestate/baggage in its headers), so the relay's publish continues that trace.
   */
  async enqueue(transaction: Transaction, events: OutboxEvent[]): Promise<EventEnvelope[]> {
    if (events.length === 0) return [];
    const occurredAt = new Date().toISOString();
    const traceHeaders = currentTraceHeaders();
    const traced = Object.keys(traceHeaders).length > 0;
    const envelopes = events.map((e) => ({
      id: uuidv7(),
      type: e.type,
      version: e.version ?? 1,
      occurredAt,
      data: e.data,
    }));
    const placeholders = events.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
    const values = events.flatMap((e, i) => {
      const envelope = envelopes[i]!;
      const headers = traced ? { ...e.headers, ...traceHeaders } : e.headers;
      return [envelope.id, e.topic, e.key, e.type, JSON.stringify(envelope), headers ? JSON.stringify(headers) : null];
    });
    await this.sequelize.query(
      `INSERT INTO ${TABLE} (event_id, topic, message_key, event_type, payload, headers) VALUES ${placeholders}`,
      { replacements: values, transaction },
    );
    transaction.afterCommit(() => this.wake());
    return envelopes;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in flight, then stops and disconnects; unpublished rows stay for the next relay. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.dropProducer();
  }

  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  async backlog(): Promise<{ count: number; oldestAgeSeconds: number }> {
    const [row] = await this.sequelize.query<{ n: number | string; age: number | string | null }>(
      `SELECT COUNT(*) AS n, TIMESTAMPDIFF(MICROSECOND, MIN(created_at), CURRENT_TIMESTAMP(3)) / 1e6 AS age FROM ${TABLE}`,
      { type: QueryTypes.SELECT },
    );
    return { count: Number(row?.n ?? 0), oldestAgeSeconds: Math.max(0, Number(row?.age ?? 0)) };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.pendingWake = false;
      let published = 0;
      try {
        published = await this.publishBatch();
        failures = 0;
      } catch (err) {
        failures++;
        this.failures.inc();
        await this.dropProducer();
        const backoff = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        this.logger.warn({ err, failures, backoffMs: backoff }, 'outbox publish failed; will retry');
        await this.idle(backoff);
        continue;
      }
      if (published < this.batchSize && !this.pendingWake) await this.idle(this.pollIntervalMs);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
      if (!this.running) done();
    });
  }

  private async connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = createIdempotentProducer(this.kafka, { retries: 4, metrics: this.metrics });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch((err: unknown) => this.logger.debug({ err }, 'producer disconnect failed'));
  }

  private async publishBatch(): Promise<number> {
    return this.sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (transaction) => {
      const lease = await this.sequelize.query(`SELECT name FROM ${LEASES} WHERE name = ? FOR UPDATE SKIP LOCKED`, {
        replacements: [LEASE],
        type: QueryTypes.SELECT,
        transaction,
      });
      if (lease.length === 0) return 0; // another replica's relay is publishing
      const rows = await this.sequelize.query<OutboxRow>(
        `SELECT id, topic, message_key, event_id, event_type, payload, headers, created_at FROM ${TABLE} ORDER BY id LIMIT ?`,
        { replacements: [this.batchSize], type: QueryTypes.SELECT, transaction },
      );
      if (rows.length === 0) return 0;
      const producer = await this.connectedProducer();

      const byTopic = new Map<string, Message[]>();
      // One PRODUCER span per traced row, child of the transaction that wrote it (however long ago); its context
      // replaces the stored one in the message headers, so the consumer's span is the publish span's child.
      const spans: Span[] = [];
      for (const row of rows) {
        const messages = byTopic.get(row.topic) ?? [];
        let headers: Record<string, string> = row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {};
        if (hasTraceContext(headers)) {
          const parent = contextFromHeaders(headers);
          const span = startSpan(`publish ${row.topic}`, {
            kind: SpanKind.PRODUCER,
            parent,
            attributes: {
              'messaging.system': 'kafka',
              'messaging.operation.type': 'send',
              'messaging.operation.name': 'publish',
              'messaging.destination.name': row.topic,
              'messaging.kafka.message.key': row.message_key,
              'messaging.message.id': row.event_id,
              'eshop.event.type': row.event_type,
              'eshop.outbox.wait_ms': Math.max(0, Date.now() - new Date(row.created_at).getTime()),
            },
          });
          spans.push(span);
          headers = withTraceHeaders(headers, trace.setSpan(parent, span));
        }
        messages.push({
          key: row.message_key,
          value: row.payload,
          headers: {
            ...headers,
            'event-id': row.event_id,
            'event-type': row.event_type,
            'content-type': 'application/json',
          },
        });
        byTopic.set(row.topic, messages);
      }
      const endTimer = this.sendDuration.startTimer();
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (err) {
        for (const span of spans) {
          failSpan(span, err, 'publish failed; the relay retries the batch');
          span.end();
        }
        throw err;
      }
      endTimer();
      for (const span of spans) span.end();
      const now = Date.now();
      for (const row of rows) {
        this.published.inc({ topic: row.topic });
        this.delay.observe(Math.max(0, now - new Date(row.created_at).getTime()) / 1000);
      }
      await this.sequelize.query(`DELETE FROM ${TABLE} WHERE id IN (?)`, {
        replacements: [rows.map((r) => r.id)],
        transaction,
      });
      return rows.length;
    });
  }
}
