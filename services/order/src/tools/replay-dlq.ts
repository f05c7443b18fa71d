import { randomUUID } from 'node:crypto';
import { configOrExit, createIdempotentProducer, createKafka, createLogger, Metrics, type IHeaders, type Kafka, type Logger } from '@eshop/common';
import { loadReplayConfig } from '../config';

export interface ReplayOptions {
  kafka: Kafka;
  logger: Logger;
  dlqTopic: string;
  /** Remembers progress: each dead letter is replayed once per group (at least once if interrupted). */
  groupId: string;
  /** List what would be replayed; publish and commit nothing. */
  dryRun?: boolean;
  /** Replay to this topic instead of each message's dlq-original-topic header. */
  toTopic?: string;
  /** Where the producer's kafka_producer_* metrics go; a one-off CLI run has no scraper, so a throwaway registry by default. */
  metrics?: Metrics;
  /** Called per message (the CLI prints a line). */
  onMessage?: (line: ReplayedMessage) => void;
}

export interface ReplayedMessage {
  partition: number;
  offset: string;
  key: string | null;
  toTopic: string | null;
  error: string | undefined;
}

export interface ReplaySummary {
  replayed: number;
  /** Dead letters without dlq-original-topic (and no toTopic given): left alone. */
  skipped: number;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  return String(Array.isArray(value) ? value[0] : value);
}

/**
 * Re-publishes dead letters to the topic they came from, after the bug that poisoned them was fixed.
 * Reads the DLQ up to its end as of the start, publishes each message with its key, value and headers
 * (the dlq-* headers dropped, dlq-replayed-from added) and commits its offset afterwards. The consumers
 * are idempotent, so a message replayed twice (an interrupted run) does no harm; a message that is
 * still poison goes back to the DLQ.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplaySummary> {
  const { kafka, dlqTopic, logger } = options;
  const groupId = options.dryRun ? `${options.groupId}-dry-run-${randomUUID()}` : options.groupId;
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  let starts: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(dlqTopic);
    ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    starts = new Map(offsets.map((o) => [o.partition, BigInt(o.low)]));
    const [committed] = await admin.fetchOffsets({ groupId, topics: [dlqTopic] });
    for (const p of committed?.partitions ?? []) {
      if (Number(p.offset) >= 0) starts.set(p.partition, BigInt(p.offset));
    }
  } finally {
    await admin.disconnect();
  }
  const remaining = new Set([...ends].filter(([p, end]) => (starts.get(p) ?? 0n) < end).map(([p]) => p));
  const summary: ReplaySummary = { replayed: 0, skipped: 0 };
  if (remaining.size === 0) return summary;

  const producer = createIdempotentProducer(kafka, { metrics: options.metrics ?? new Metrics('order-dlq-replay') });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: !options.dryRun,
      eachMessage: async ({ partition, message }) => {
        const end = ends.get(partition) ?? 0n;
        if (BigInt(message.offset) >= end) return; // arrived after the start: for the next run
        const toTopic = options.toTopic ?? header(message.headers, 'dlq-original-topic') ?? null;
        const error = header(message.headers, 'dlq-error');
        options.onMessage?.({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, toTopic, error });
        if (!toTopic) {
          summary.skipped++;
          logger.warn({ partition, offset: message.offset }, 'dead letter has no dlq-original-topic; skipped');
        } else if (!options.dryRun) {
          const headers: IHeaders = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            if (!name.startsWith('dlq-') && value !== undefined) headers[name] = value;
          }
          headers['dlq-replayed-from'] = `${dlqTopic}/${partition}/${message.offset}`;
          await producer.send({ topic: toTopic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
          summary.replayed++;
        } else {
          summary.replayed++;
        }
        if (BigInt(message.offset) + 1n >= end) {
          remaining.delete(partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    await finished;
  } finally {
    await consumer.disconnect(); // commits the offsets of handled messages
    await producer.disconnect();
  }
  return summary;
}

/** CLI: `node dist/tools/replay-dlq.js [--dry-run] [--to-topic TOPIC]` with the consumer's Kafka settings. */
async function main(argv: string[]): Promise<void> {
  const dryRun = argv.includes('--dry-run');
  const toIndex = argv.indexOf('--to-topic');
  const toTopic = toIndex >= 0 ? argv[toIndex + 1] : undefined;
  const unknown = argv.filter((a, i) => a !== '--dry-run' && a !== '--to-topic' && !(toIndex >= 0 && i === toIndex + 1));
  if (unknown.length > 0 || (toIndex >= 0 && !toTopic)) {
    process.stderr.write('usage: replay-dlq [--dry-run] [--to-topic TOPIC]   (KAFKA_BROKERS, ORDER_DLQ_TOPIC, ORDER_DLQ_REPLAY_GROUP)\n');
    process.exit(2);
  }
  const config = configOrExit(() => loadReplayConfig());
  const logger = createLogger('order-dlq-replay', config.logLevel);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.kafkaClientId, logger });
  const summary = await replayDeadLetters({
    kafka,
    logger,
    dlqTopic: config.dlqTopic,
    groupId: config.replayGroup,
    dryRun,
    toTopic,
    onMessage: (m) =>
      process.stdout.write(
        `${dryRun ? 'would replay' : 'replaying'} ${config.dlqTopic}/${m.partition}/${m.offset} key=${m.key ?? '-'} → ${m.toTopic ?? '(no original topic: skipped)'}  error: ${m.error ?? '?'}\n`,
      ),
  });
  process.stdout.write(`${dryRun ? 'would replay' : 'replayed'} ${summary.replayed}, skipped ${summary.skipped}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`replay failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
