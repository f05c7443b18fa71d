import {
  Metrics,
  Outbox,
  createDatabase,
  createKafka,
  migrate,
  outboxMigration,
  type Sequelize,
} from '@eshop/common';
import {
  MessageCollector,
  createTestDatabase,
  createTopic,
  deleteTopics,
  kafkaBrokers,
  silentLogger,
  type TestDatabase,
} from '@eshop/test-support';

describe('transactional outbox (real MariaDB and Kafka)', () => {
  let db: TestDatabase;
  let sequelize: Sequelize;
  let topic: string;
  let collector: MessageCollector;
  const relays: Outbox[] = [];
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: 'outbox-test', logger: silentLogger });

  function newRelay(): Outbox {
    const outbox = new Outbox({
      sequelize,
      kafka,
      logger: silentLogger,
      metrics: new Metrics('outbox-test'),
      pollIntervalMs: 100,
      batchSize: 50,
    });
    relays.push(outbox);
    return outbox;
  }

  beforeAll(async () => {
    db = await createTestDatabase('outbox');
    sequelize = createDatabase(db.options, silentLogger, new Metrics('outbox-db'));
    await migrate(sequelize, [outboxMigration()], silentLogger);
    topic = await createTopic('outbox-test', 3);
    collector = await new MessageCollector(topic).start();
  });

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    await collector.stop();
    await sequelize.close();
    await db.drop();
    await deleteTopics([topic]);
  });

  it('publishes committed events exactly once, in order per key, and never those of a rolled-back transaction', async () => {
    const [a, b] = [newRelay(), newRelay()]; // two replicas compete for the relay lease
    a.start();
    b.start();

    await Promise.all(
      Array.from({ length: 20 }, (_, writer) =>
        sequelize.transaction(async (t) => {
          for (let seq = 0; seq < 10; seq++) {
            await a.enqueue(t, [{ topic, key: `agg-${writer % 4}`, type: 'thing.changed', data: { writer, seq } }]);
          }
        }),
      ),
    );
    await sequelize
      .transaction(async (t) => {
        await a.enqueue(t, [{ topic, key: 'agg-x', type: 'thing.changed', data: { rolledBack: true } }]);
        throw new Error('business rule failed');
      })
      .catch(() => undefined);

    const messages = await collector.waitFor(200);
    await new Promise((r) => setTimeout(r, 1000)); // anything extra (duplicates, rolled back) would arrive now
    expect(collector.messages).toHaveLength(200);
    const ids = new Set(messages.map((m) => (m.value as { id: string }).id));
    expect(ids.size).toBe(200);
    expect(messages.some((m) => (m.value as { data: { rolledBack?: boolean } }).data.rolledBack)).toBe(false);

    // Within each writer's transaction, events of one key keep their order.
    for (let writer = 0; writer < 20; writer++) {
      const seqs = messages
        .map((m) => m.value as { data: { writer: number; seq: number } })
        .filter((v) => v.data.writer === writer)
        .map((v) => v.data.seq);
      expect(seqs).toEqual([...Array(10).keys()]);
    }
    expect((await a.backlog()).count).toBe(0);
  });

  it('carries the envelope and its headers, keyed by the aggregate id', async () => {
    const relay = relays[0]!;
    const before = collector.messages.length;
    await sequelize.transaction((t) =>
      relay.enqueue(t, [{ topic, key: '42', type: 'product.created', version: 2, data: { id: 42 }, headers: { traceparent: 'x' } }]),
    );
    const [message] = (await collector.waitFor(before + 1)).slice(before);
    expect(message!.key).toBe('42');
    expect(message!.value).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'product.created',
      version: 2,
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { id: 42 },
    });
    expect(message!.headers).toMatchObject({
      'event-type': 'product.created',
      'event-id': (message!.value as { id: string }).id,
      'content-type': 'application/json',
      traceparent: 'x',
    });
  });

  it('still serves its metrics when the database is unreachable, with the last known backlog', async () => {
    const metrics = new Metrics('outbox-metrics-test');
    const unreachable = createDatabase({ ...db.options, port: 1 }, silentLogger, new Metrics('unreachable-db'));
    const outbox = new Outbox({ sequelize: unreachable, kafka, logger: silentLogger, metrics });
    try {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/outbox_backlog_events\{service="outbox-metrics-test"\} 0/);
      expect(text).toContain('process_cpu_seconds_total');
    } finally {
      await unreachable.close();
    }
    expect(outbox).toBeDefined();
  });

  it('keeps events in the outbox while no relay runs and publishes them when one starts', async () => {
    for (const relay of relays) await relay.stop();
    const writer = newRelay(); // not started
    const before = collector.messages.length;
    await sequelize.transaction((t) =>
      writer.enqueue(t, [1, 2, 3].map((n) => ({ topic, key: 'late', type: 'thing.changed', data: { n } }))),
    );
    expect((await writer.backlog()).count).toBe(3);
    writer.start();
    await collector.waitFor(before + 3);
    expect((await writer.backlog()).count).toBe(0);
  });
});
