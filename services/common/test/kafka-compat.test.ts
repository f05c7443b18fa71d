/**
 * Compatibility check: the Kafka client the services use (kafkajs 2.2.4, last released in 2022) against
 * the broker the project runs (Apache Kafka 4.x, which dropped old protocol versions in KIP-896).
 * Exercises exactly the calls the services rely on, against the real broker from local/kafka.sh.
 * Every run uses its own topics and groups, so it can run repeatedly and next to other tests.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const runId = `${Date.now()}-${randomUUID().slice(0, 8)}`;
const PARTITIONS = 3;

const kafka = new Kafka({ clientId: `kafka-compat-${runId}`, brokers, logLevel: logLevel.ERROR });
const createdTopics: string[] = [];
let admin: Admin;

interface Received {
  partition: number;
  offset: string;
  key: string;
}

async function createTopic(purpose: string): Promise<string> {
  const topic = `kafka-compat-${purpose}-${runId}`;
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  expect(created).toBe(true);
  createdTopics.push(topic);
  return topic;
}

/** Sends `perPartition` keyed messages to every partition of the topic; returns their keys. */
async function produce(producer: Producer, topic: string, batch: string, perPartition: number): Promise<string[]> {
  const messages = Array.from({ length: PARTITIONS * perPartition }, (_, i) => ({
    key: `${batch}-${i}`,
    value: JSON.stringify({ batch, i }),
    partition: i % PARTITIONS,
  }));
  const acks = await producer.send({ topic, acks: -1, messages });
  expect(acks.every((ack) => ack.errorCode === 0)).toBe(true);
  return messages.map((m) => m.key);
}

async function idempotentProducer(): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

/**
 * Runs a group consumer that commits each message explicitly (autoCommit off, as the services do for
 * at-least-once handling) until `count` messages arrived, then disconnects it (leaving the group).
 */
async function consumeAndCommit(topic: string, groupId: string, count: number): Promise<Received[]> {
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 500 });
  const received: Received[] = [];
  let reached!: () => void;
  const allReceived = new Promise<void>((resolve) => (reached = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, offset: message.offset, key: message.key?.toString() ?? '' });
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (received.length >= count) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`received ${received.length} of ${count} messages within 30 s`)), 30_000);
    });
    await Promise.race([allReceived, timeout]).finally(() => clearTimeout(timer));
    // A short pause so a message that should not come (already committed) would show up here.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return received;
}

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  // Safety net when a test failed before the deleteTopics test ran.
  const existing = new Set(await admin.listTopics());
  const leftovers = createdTopics.filter((t) => existing.has(t));
  if (leftovers.length > 0) await admin.deleteTopics({ topics: leftovers });
  await admin.disconnect();
});

describe('kafkajs 2.2.4 against the local Kafka broker', () => {
  test('admin.createTopics creates a topic whose metadata lists every partition with a leader', async () => {
    const topic = await createTopic('create');

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });

    const partitions = metadata.topics[0]?.partitions ?? [];
    expect(partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    expect(partitions.every((p) => p.leader >= 0)).toBe(true);
  });

  test('an idempotent producer with acks=-1 gets an acknowledgement for every message, in order per partition', async () => {
    const topic = await createTopic('produce');
    const producer = await idempotentProducer();
    try {
      const first = await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: '1', partition: 0 }] });
      const second = await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: '2', partition: 0 }] });

      expect(first[0]).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' });
      expect(second[0]).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '1' });
    } finally {
      await producer.disconnect();
    }
  });

  test('admin.fetchTopicOffsets reports each partition’s high watermark after producing', async () => {
    const topic = await createTopic('watermarks');
    const producer = await idempotentProducer();
    try {
      await produce(producer, topic, 'w', 4);
    } finally {
      await producer.disconnect();
    }

    const offsets = await admin.fetchTopicOffsets(topic);

    expect(offsets.sort((a, b) => a.partition - b.partition)).toEqual(
      [0, 1, 2].map((partition) => expect.objectContaining({ partition, low: '0', high: '4', offset: '4' })),
    );
  });

  test('a consumer group receives every message once and admin.fetchOffsets shows its commits', async () => {
    const topic = await createTopic('group');
    const groupId = `kafka-compat-group-${runId}`;
    const producer = await idempotentProducer();
    let sent: string[];
    try {
      sent = await produce(producer, topic, 'g', 5);
    } finally {
      await producer.disconnect();
    }

    const received = await consumeAndCommit(topic, groupId, sent.length);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });

    expect(received.map((m) => m.key).sort()).toEqual([...sent].sort());
    expect(committed).toEqual([
      {
        topic,
        partitions: expect.arrayContaining([0, 1, 2].map((partition) => expect.objectContaining({ partition, offset: '5' }))),
      },
    ]);
  });

  test('a consumer that rejoins its group after a restart resumes from the committed offset', async () => {
    const topic = await createTopic('rejoin');
    const groupId = `kafka-compat-rejoin-${runId}`;
    const producer = await idempotentProducer();
    try {
      const before = await produce(producer, topic, 'before', 3);
      await consumeAndCommit(topic, groupId, before.length);
      const after = await produce(producer, topic, 'after', 2);

      const received = await consumeAndCommit(topic, groupId, after.length);

      expect(received.map((m) => m.key).sort()).toEqual([...after].sort());
      expect(received.every((m) => BigInt(m.offset) >= 3n)).toBe(true);
    } finally {
      await producer.disconnect();
    }
  });

  test('admin.deleteTopics removes the topics this run created', async () => {
    await admin.deleteTopics({ topics: createdTopics });

    const remaining = await admin.listTopics();

    expect(remaining.filter((t) => createdTopics.includes(t))).toEqual([]);
  });
});
