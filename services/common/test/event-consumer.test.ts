import {
  EventConsumer,
  Metrics,
  PoisonMessageError,
  createIdempotentProducer,
  createKafka,
  type EventEnvelope,
  type Producer,
} from '@eshop/common';
import {
  MessageCollector,
  createTopic,
  deleteTopics,
  eventually,
  kafkaBrokers,
  silentLogger,
  uniqueName,
} from '@eshop/test-support';

const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'consumer-test', logger: silentLogger });

function envelope(n: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: `e-${n}`, type: 'thing.happened', version: 1, occurredAt: new Date().toISOString(), data: { n, ...extra } });
}

describe('EventConsumer (real Kafka)', () => {
  let topic: string;
  let dlq: string;
  let producer: Producer;
  const consumers: EventConsumer[] = [];

  beforeEach(async () => {
    topic = await createTopic('consumer-test', 2);
    dlq = await createTopic('consumer-test-dlq', 1);
    producer = createIdempotentProducer(kafka, { metrics: new Metrics('consumer-test-producer') });
    await producer.connect();
  });

  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.stop().catch(() => undefined);
    await producer.disconnect();
    await deleteTopics([topic, dlq]);
  });

  function consumer(
    groupId: string,
    handle: (e: EventEnvelope) => Promise<void>,
    metrics = new Metrics('consumer-test'),
    extra: { isTransient?: (err: unknown) => boolean; maxAttempts?: number } = {},
  ) {
    const c = new EventConsumer({
      ...extra,
      kafka,
      logger: silentLogger,
      metrics,
      groupId,
      topic,
      deadLetterTopic: dlq,
      producer,
      handle,
      retry: { initialMs: 50, maxMs: 200 },
      lagRefreshMs: 200,
    });
    consumers.push(c);
    return c;
  }

  it('dead-letters undecodable and handler-rejected messages with their origin, and keeps processing', async () => {
    const seen: number[] = [];
    const c = consumer(uniqueName('g'), async (e) => {
      const n = (e.data as { n: number }).n;
      if (n === 2) throw new PoisonMessageError('quantity must be positive');
      seen.push(n);
    });
    await c.start();
    await producer.send({
      topic,
      messages: [
        { key: 'k', value: envelope(1) },
        { key: 'k', value: 'not json {' },
        { key: 'k', value: envelope(2) },
        { key: 'k', value: JSON.stringify({ hello: 'world' }) },
        { key: 'k', value: envelope(3) },
      ],
    });
    await eventually(() => expect(seen).toEqual([1, 3]), 20000);

    const dead = await new MessageCollector(dlq).start();
    try {
      const letters = await dead.waitFor(3);
      expect(letters.map((l) => l.headers['dlq-error'])).toEqual([
        'message value is not valid JSON',
        'quantity must be positive',
        expect.stringContaining('not an event envelope'),
      ]);
      expect(letters[0]!.headers).toMatchObject({ 'dlq-original-topic': topic, 'dlq-original-offset': '1' });
      expect(letters[0]!.value).toBe('not json {');
    } finally {
      await dead.stop();
    }
  });

  it('retries a transient failure with backoff instead of skipping the message, keeping order', async () => {
    const seen: number[] = [];
    let failuresLeft = 3;
    const metrics = new Metrics('consumer-test');
    const c = consumer(
      uniqueName('g'),
      async (e) => {
        const n = (e.data as { n: number }).n;
        if (n === 1 && failuresLeft-- > 0) throw new Error('product service unavailable');
        seen.push(n);
      },
      metrics,
    );
    await c.start();
    await producer.send({ topic, messages: [1, 2, 3].map((n) => ({ key: 'same', value: envelope(n) })) });
    await eventually(() => expect(seen).toEqual([1, 2, 3]), 20000);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/kafka_consumer_message_retries_total\{[^}]*\} 3/);
    expect(text).toMatch(/kafka_consumer_messages_processed_total\{[^}]*\} 3/);
  });

  it('dead-letters a message whose non-transient failure persists after maxAttempts, but never gives up on a transient one', async () => {
    class Outage extends Error {}
    const attempts = new Map<number, number>();
    const seen: number[] = [];
    const c = consumer(
      uniqueName('g'),
      async (e) => {
        const n = (e.data as { n: number }).n;
        const attempt = (attempts.get(n) ?? 0) + 1;
        attempts.set(n, attempt);
        if (n === 1) throw new Error('unexpected 400 from a dependency'); // a bug: never succeeds
        if (n === 2 && attempt <= 6) throw new Outage('dependency down'); // an outage longer than maxAttempts
        seen.push(n);
      },
      new Metrics('consumer-test'),
      { isTransient: (err) => err instanceof Outage, maxAttempts: 3 },
    );
    await c.start();
    await producer.send({ topic, messages: [1, 2, 3].map((n) => ({ key: 'same', value: envelope(n) })) });
    await eventually(() => expect(seen).toEqual([2, 3]), 20000);
    expect(attempts.get(1)).toBe(3);
    expect(attempts.get(2)).toBe(7);

    const dead = await new MessageCollector(dlq).start();
    try {
      const [letter] = await dead.waitFor(1);
      expect(letter!.headers['dlq-error']).toBe('unexpected 400 from a dependency');
      expect((letter!.value as { data: { n: number } }).data.n).toBe(1);
    } finally {
      await dead.stop();
    }
  });

  it('redelivers a message whose handling was abandoned at stop, and does not redeliver committed ones', async () => {
    const groupId = uniqueName('g');
    const first: number[] = [];
    let block = true;
    const c1 = consumer(groupId, async (e) => {
      const n = (e.data as { n: number }).n;
      if (n === 3 && block) throw new Error('dependency down'); // retried until stop
      first.push(n);
    });
    await c1.start();
    await producer.send({ topic, messages: [1, 2, 3].map((n) => ({ key: 'same', value: envelope(n) })) });
    await eventually(() => expect(first).toEqual([1, 2]), 20000);
    await c1.stop();

    block = false;
    const second: number[] = [];
    const c2 = consumer(groupId, async (e) => {
      second.push((e.data as { n: number }).n);
    });
    await c2.start();
    await eventually(() => expect(second).toEqual([3]), 30000);
  });

  it('reports lag per assigned partition while messages wait', async () => {
    const metrics = new Metrics('consumer-test');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = consumer(uniqueName('g'), async () => gate, metrics);
    await c.start();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, n) => ({ key: 'one-key', value: envelope(n) })) });
    await eventually(async () => {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/kafka_consumer_lag_messages\{[^}]*partition="\d"[^}]*\} (9|10)\n/);
      expect(text).toMatch(/kafka_consumer_assigned_partitions\{[^}]*\} 2/);
    }, 20000);
    release();
    await eventually(async () => {
      const text = await metrics.registry.metrics();
      expect(text).not.toMatch(/kafka_consumer_lag_messages\{[^}]*\} [1-9]/);
    }, 20000);
  });
});
