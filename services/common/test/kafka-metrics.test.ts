import { EventConsumer, Metrics, createIdempotentProducer, createKafka, type Producer } from '@eshop/common';
import { createTopic, deleteTopics, kafkaBrokers, silentLogger, uniqueName } from '@eshop/test-support';

const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'kafka-metrics-test', logger: silentLogger });

/** Value of one series (labels matched exactly on the given keys), or undefined when it does not exist. */
async function valueOf(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return match?.value;
}

describe('Kafka producer metrics (real Kafka, auto-create off)', () => {
  let topics: string[];
  let metrics: Metrics;
  let producer: Producer;

  beforeAll(async () => {
    topics = [await createTopic('producer-metrics-a', 1), await createTopic('producer-metrics-b', 1)];
  });

  beforeEach(async () => {
    metrics = new Metrics('producer-metrics-test');
    // One retry keeps the refused send quick; the default is unbounded.
    producer = createIdempotentProducer(kafka, { metrics, retries: 1 });
    await producer.connect();
  });

  afterEach(() => producer.disconnect());
  afterAll(() => deleteTopics(topics));

  it('counts acknowledged messages per topic, times each send and starts the failure series at 0', async () => {
    const [a] = topics as [string, string];
    await producer.send({ topic: a, acks: -1, messages: [{ value: '1' }, { value: '2' }, { value: '3' }] });

    expect(await valueOf(metrics, 'kafka_producer_messages_sent_total', { topic: a })).toBe(3);
    expect(await valueOf(metrics, 'kafka_producer_send_failures_total', { topic: a })).toBe(0);
    expect(await valueOf(metrics, 'kafka_producer_send_duration_seconds', { topic: a, le: '+Inf' })).toBe(1);
  });

  it('counts a batch spanning two topics for each topic it carried', async () => {
    const [a, b] = topics as [string, string];
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: a, messages: [{ value: 'x' }, { value: 'y' }] },
        { topic: b, messages: [{ value: 'z' }] },
      ],
    });

    expect(await valueOf(metrics, 'kafka_producer_messages_sent_total', { topic: a })).toBe(2);
    expect(await valueOf(metrics, 'kafka_producer_messages_sent_total', { topic: b })).toBe(1);
    expect(await valueOf(metrics, 'kafka_producer_send_duration_seconds', { topic: b, le: '+Inf' })).toBe(1);
  });

  it('counts a send the cluster refuses (a topic that does not exist) as a failure, and nothing as sent', async () => {
    const missing = uniqueName('no-such-topic').replace(/_/g, '-');

    await expect(producer.send({ topic: missing, acks: -1, messages: [{ value: 'lost' }] })).rejects.toThrow();

    expect(await valueOf(metrics, 'kafka_producer_send_failures_total', { topic: missing })).toBe(1);
    expect(await valueOf(metrics, 'kafka_producer_messages_sent_total', { topic: missing })).toBeUndefined();
    expect(await valueOf(metrics, 'kafka_producer_send_duration_seconds', { topic: missing, le: '+Inf' })).toBeUndefined();
  });
});

describe('EventConsumer metrics before the first message', () => {
  it('exports every counter of its group and topic at 0 and no assigned partitions, so alerts see the series at once', async () => {
    const metrics = new Metrics('consumer-metrics-test');
    const labels = { group: 'g-metrics', topic: 't-metrics' };
    new EventConsumer({
      kafka,
      logger: silentLogger,
      metrics,
      groupId: labels.group,
      topic: labels.topic,
      deadLetterTopic: 't-metrics-dlq',
      producer: { send: async () => [] },
      handle: async () => undefined,
    });

    for (const name of [
      'kafka_consumer_messages_processed_total',
      'kafka_consumer_message_failures_total',
      'kafka_consumer_message_retries_total',
      'kafka_consumer_messages_dead_lettered_total',
      'kafka_consumer_assigned_partitions',
    ]) {
      expect({ name, value: await valueOf(metrics, name, labels) }).toEqual({ name, value: 0 });
    }
    expect(await valueOf(metrics, 'kafka_consumer_message_processing_duration_seconds', { ...labels, le: '+Inf' })).toBe(0);
  });
});
