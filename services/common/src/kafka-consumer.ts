import type { Admin, Consumer, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { withContext } from './context';
import type { EventEnvelope } from './kafka';
import type { Metrics } from './metrics';
import { contextFromHeaders, failSpan, inSpan, SpanKind } from './trace-context';

/** Thrown by a decoder or handler for a message that can never succeed; it goes to the dead-letter topic. */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoisonMessageError';
  }
}

/** Where a message came from, passed to the handler next to the decoded event. */
export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
}

export type EventHandler<T> = (event: T, meta: MessageMeta) => Promise<void>;

export interface EventConsumerOptions<T> {
  kafka: Kafka;
  logger: Logger;
  metrics: Metrics;
  groupId: string;
  topic: string;
  /** Poison messages are copied here with the error and their origin in headers. */
  deadLetterTopic: string;
  /** Used for dead letters; an idempotent producer the process already owns. */
  producer: Pick<Producer, 'send'>;
  handle: EventHandler<T>;
  /** Turns raw bytes into the handler's input; throw PoisonMessageError to dead-letter. Default: the event envelope. */
  decode?: (message: KafkaMessage) => T;
  /** Partitions processed in parallel by this process (ordering stays per partition, so per key). */
  concurrency?: number;
  /** Backoff between attempts: first delay and cap, in ms. Retrying holds the partition (order per key is kept). */
  retry?: { initialMs?: number; maxMs?: number };
  /**
   * Failures that go away by themselves (a dependency down, a lost connection): retried for as long as
   * it takes, never skipped. Default: every error. Any other error is retried `maxAttempts` times and
   * then dead-lettered, so a bug or an unexpected answer cannot block a partition forever.
   */
  isTransient?: (error: unknown) => boolean;
  /** Attempts for a non-transient error before the message is dead-lettered (default 10). */
  maxAttempts?: number;
  /** How often lag is refreshed from the broker's high watermarks, in ms. */
  lagRefreshMs?: number;
  sessionTimeoutMs?: number;
}

const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.string().min(1),
  data: z.unknown(),
});

/** Default decoder: the platform's JSON event envelope; anything else is poison. */
export function decodeEnvelope(message: KafkaMessage): EventEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (err) {
    throw new PoisonMessageError('message value is not valid JSON', { cause: err });
  }
  const result = envelopeSchema.safeParse(parsed);
  if (!result.success) {
    throw new PoisonMessageError(`message is not an event envelope: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
  }
  return result.data as EventEnvelope;
}

class StoppingError extends Error {}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v !== undefined) out[k] = String(Array.isArray(v) ? v[0] : v);
  }
  return out;
}

/**
 * At-least-once consumer for one topic in one group, built for idempotent handlers:
 * an offset is resolved only after its message was handled or dead-lettered; transient failures
 * retry with capped exponential backoff (holding that partition, never skipping); poison messages
 * go to the dead-letter topic and processing continues. Offsets are committed every second and
 * on rebalance and stop. Exports lag per assigned partition and processing metrics.
 */
export class EventConsumer<T = EventEnvelope> {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly logger: Logger;
  private readonly decode: (message: KafkaMessage) => T;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private stopping = false;
  private assigned: number[] = [];
  /** Next offset to process per partition, as far as this process knows. */
  private readonly positions = new Map<number, bigint>();
  private lagTimer: NodeJS.Timeout | undefined;
  private readonly m;

  constructor(private readonly options: EventConsumerOptions<T>) {
    this.logger = options.logger.child({ component: 'consumer', group: options.groupId, topic: options.topic });
    this.decode = options.decode ?? (decodeEnvelope as unknown as (m: KafkaMessage) => T);
    this.initialMs = options.retry?.initialMs ?? 200;
    this.maxMs = options.retry?.maxMs ?? 30_000;
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      // A fetch in flight delays disconnect by up to this long; keep shutdown and rebalances quick.
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.admin = options.kafka.admin();
    const { metrics } = options;
    const labels = ['group', 'topic'] as const;
    this.m = {
      processed: metrics.counter({
        name: 'kafka_consumer_messages_processed_total',
        help: 'Messages handled successfully (including ones the handler chose to ignore).',
        labelNames: labels,
      }),
      failed: metrics.counter({
        name: 'kafka_consumer_message_failures_total',
        help: 'Handler attempts that failed (each is retried, or dead-lettered if poison).',
        labelNames: labels,
      }),
      retried: metrics.counter({
        name: 'kafka_consumer_message_retries_total',
        help: 'Attempts repeated after a failed one (transient failures, and non-transient ones until maxAttempts).',
        labelNames: labels,
      }),
      deadLettered: metrics.counter({
        name: 'kafka_consumer_messages_dead_lettered_total',
        help: 'Poison messages copied to the dead-letter topic.',
        labelNames: labels,
      }),
      duration: metrics.histogram({
        name: 'kafka_consumer_message_processing_duration_seconds',
        help: 'Time to handle one message, retries included.',
        labelNames: labels,
      }),
      lag: metrics.gauge({
        name: 'kafka_consumer_lag_messages',
        help: "Messages not yet processed on each partition assigned to this consumer (high watermark minus position).",
        labelNames: ['group', 'topic', 'partition'] as const,
      }),
      assignedPartitions: metrics.gauge({
        name: 'kafka_consumer_assigned_partitions',
        help: 'Partitions currently assigned to this consumer.',
        labelNames: labels,
      }),
    };
    // Every series of this group and topic exists from the start, so rate() and alerts (DLQ) see a 0 before the first event.
    for (const counter of [this.m.processed, this.m.failed, this.m.retried, this.m.deadLettered]) counter.inc(this.labels, 0);
    this.m.duration.zero(this.labels);
    this.m.assignedPartitions.set(this.labels, 0);
  }

  private get labels() {
    return { group: this.options.groupId, topic: this.options.topic };
  }

  async start(): Promise<void> {
    const { topic } = this.options;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      const partitions = [...(assignment[topic] ?? [])].sort((a, b) => a - b);
      for (const p of this.assigned) if (!partitions.includes(p)) this.m.lag.remove({ ...this.labels, partition: String(p) });
      this.assigned = partitions;
      this.positions.clear(); // positions of a previous generation may be stale; refreshLag re-reads commits
      this.m.assignedPartitions.set(this.labels, partitions.length);
      this.logger.info({ partitions }, 'partitions assigned');
      void this.refreshLag();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    });
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency ?? 12,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        const active = () => !this.stopping && isRunning() && !isStale();
        const high = BigInt(batch.highWatermark);
        for (const message of batch.messages) {
          if (!active()) return;
          try {
            await this.process(batch.partition, message, heartbeat, active);
          } catch (err) {
            if (err instanceof StoppingError) return; // not resolved: the next owner redelivers it
            throw err;
          }
          resolveOffset(message.offset);
          const next = BigInt(message.offset) + 1n;
          this.positions.set(batch.partition, next);
          this.m.lag.set({ ...this.labels, partition: String(batch.partition) }, Number(high > next ? high - next : 0n));
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      },
    });
    this.lagTimer = setInterval(() => void this.refreshLag(), this.options.lagRefreshMs ?? 5000);
    this.lagTimer.unref();
  }

  /** Stops fetching, abandons retries in progress (uncommitted, so redelivered), commits what is done. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.consumer.disconnect();
    await this.admin.disconnect();
    for (const p of this.assigned) this.m.lag.remove({ ...this.labels, partition: String(p) });
    this.m.assignedPartitions.set(this.labels, 0);
  }

  private async process(
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
    active: () => boolean,
  ): Promise<void> {
    const { topic } = this.options;
    const meta: MessageMeta = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      headers: headersOf(message.headers),
    };
    const endTimer = this.m.duration.startTimer(this.labels);
    // One CONSUMER span per message, a child of the publish span whose context the message carries (each message is
    // handled on its own, so an async order's intake, publish, decision and reservation are one trace); a message
    // without a context starts a trace of its own.
    const spanAttributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
      'messaging.kafka.offset': Number(message.offset),
      'messaging.consumer.group.name': this.options.groupId,
      ...(meta.key !== null ? { 'messaging.kafka.message.key': meta.key } : {}),
      ...(meta.headers['event-id'] ? { 'messaging.message.id': meta.headers['event-id'] } : {}),
      ...(meta.headers['event-type'] ? { 'eshop.event.type': meta.headers['event-type'] } : {}),
    };
    const parent = contextFromHeaders(meta.headers);
    await inSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, parent, attributes: spanAttributes }, (span) =>
      withContext({ topic, partition, offset: message.offset, eventId: meta.headers['event-id'] }, async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            const event = this.decode(message);
            await this.options.handle(event, meta);
            this.m.processed.inc(this.labels);
            break;
          } catch (err) {
            this.m.failed.inc(this.labels);
            if (err instanceof PoisonMessageError) {
              failSpan(span, err, `dead-lettered to ${this.options.deadLetterTopic}: ${err.message}`);
              await this.deadLetter(message, meta, err, heartbeat, active);
              break;
            }
            const transient = this.options.isTransient?.(err) ?? true;
            if (!transient && attempt >= (this.options.maxAttempts ?? 10)) {
              const reason = err instanceof Error ? err : new Error(String(err));
              failSpan(span, reason, `dead-lettered to ${this.options.deadLetterTopic} after ${attempt} attempts: ${reason.message}`);
              await this.deadLetter(message, meta, reason, heartbeat, active);
              break;
            }
            const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(attempt - 1, 20));
            const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
            this.logger.warn({ err, attempt, retryInMs: jittered }, 'message handling failed; retrying');
            span.addEvent('retry', { attempt, 'retry.delay_ms': jittered, 'exception.message': err instanceof Error ? err.message : String(err) });
            this.m.retried.inc(this.labels);
            await this.pause(jittered, heartbeat, active);
          }
        }
      }),
    );
    endTimer();
  }

  /** Sleeps in small steps, heartbeating so a long backoff does not cost the partition. */
  private async pause(ms: number, heartbeat: () => Promise<void>, active: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!active()) throw new StoppingError();
      await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
      await heartbeat();
    }
    if (!active()) throw new StoppingError();
  }

  private async deadLetter(
    message: KafkaMessage,
    meta: MessageMeta,
    error: Error,
    heartbeat: () => Promise<void>,
    active: () => boolean,
  ): Promise<void> {
    const headers: IHeaders = {
      ...message.headers,
      'dlq-error': error.message.slice(0, 1000),
      'dlq-error-type': error.name,
      'dlq-original-topic': meta.topic,
      'dlq-original-partition': String(meta.partition),
      'dlq-original-offset': meta.offset,
      'dlq-consumer-group': this.options.groupId,
      'dlq-failed-at': new Date().toISOString(),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.producer.send({
          topic: this.options.deadLetterTopic,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers }],
        });
        break;
      } catch (err) {
        this.logger.warn({ err, attempt }, 'dead-lettering failed; retrying');
        await this.pause(Math.min(this.maxMs, this.initialMs * 2 ** Math.min(attempt, 20)), heartbeat, active);
      }
    }
    this.m.deadLettered.inc(this.labels);
    this.logger.error({ err: error, deadLetterTopic: this.options.deadLetterTopic }, 'poison message dead-lettered');
  }

  /** Lag from the broker's high watermarks, so a stuck or idle partition still reports it. */
  private async refreshLag(): Promise<void> {
    if (this.stopping || this.assigned.length === 0) return;
    try {
      const { topic, groupId } = this.options;
      const highs = await this.admin.fetchTopicOffsets(topic);
      const missing = this.assigned.filter((p) => !this.positions.has(p));
      const committed = new Map<number, bigint>();
      if (missing.length > 0) {
        const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
        for (const p of offsets?.partitions ?? []) if (Number(p.offset) >= 0) committed.set(p.partition, BigInt(p.offset));
      }
      for (const partition of this.assigned) {
        const high = highs.find((h) => h.partition === partition);
        if (!high) continue;
        const hw = BigInt(high.high);
        const position = this.positions.get(partition) ?? committed.get(partition) ?? BigInt(high.low);
        this.m.lag.set({ ...this.labels, partition: String(partition) }, Number(hw > position ? hw - position : 0n));
      }
    } catch (err) {
      this.logger.debug({ err }, 'lag refresh failed');
    }
  }
}
