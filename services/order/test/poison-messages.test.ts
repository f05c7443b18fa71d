import { randomUUID } from 'node:crypto';
import { silentLogger, eventually, MessageCollector, testKafka, type CollectedMessage } from '@eshop/test-support';
import { uuidv7 } from 'uuidv7';
import { replayDeadLetters } from '../src/tools/replay-dlq';
import { aUserId, anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

const PARTITIONS = 3;

describe('poison messages go to the dead-letter topic; the stream goes on', () => {
  let stack: OrderStack;
  let dlq: MessageCollector;
  const kafka = testKafka();
  const producer = kafka.producer();

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'poison', partitions: PARTITIONS });
    dlq = await new MessageCollector(stack.dlqTopic).start();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await dlq?.stop();
    await stack?.close();
  });

  const envelope = (data: unknown, type = 'order.placed') =>
    JSON.stringify({ id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), data });

  it('an undecodable message and a schema-invalid order.placed land in the DLQ with dlq-* headers, and later orders still process', async () => {
    await stack.startConsumer();
    // One of each on every partition, so every order placed afterwards queues behind poison.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      await producer.send({
        topic: stack.topic,
        acks: -1,
        messages: [
          { partition, key: `garbage-${partition}`, value: '{"this is": not json', headers: { 'event-type': 'order.placed' } },
          { partition, key: `invalid-${partition}`, value: envelope({ order_id: 42, items: 'none' }) },
        ],
      });
    }
    const productId = await stack.product.createProduct(10, '5.00');
    const orders = await Promise.all(Array.from({ length: 6 }, () => stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]]))));

    await eventually(async () => {
      for (const order of orders) expect((await stack.api.get(`/orders/${order.body.id}`)).body.status).toBe('confirmed');
    }, 30_000, 200);
    const dead = await dlq.waitFor(2 * PARTITIONS);

    const garbage = dead.filter((m) => m.key?.startsWith('garbage-'));
    const invalid = dead.filter((m) => m.key?.startsWith('invalid-'));
    expect(garbage).toHaveLength(PARTITIONS);
    expect(invalid).toHaveLength(PARTITIONS);
    for (const message of [...garbage, ...invalid]) {
      expect(message.headers).toMatchObject({
        'dlq-error-type': 'PoisonMessageError',
        'dlq-original-topic': stack.topic,
        'dlq-original-partition': expect.stringMatching(/^\d$/),
        'dlq-original-offset': expect.stringMatching(/^\d+$/),
        'dlq-consumer-group': stack.env.ORDER_CONSUMER_GROUP,
      });
    }
    expect(garbage[0]!.headers['dlq-error']).toContain('not valid JSON');
    expect(garbage[0]!.value).toBe('{"this is": not json'); // the original bytes, untouched
    expect(invalid[0]!.headers['dlq-error']).toMatch(/order\.placed .* has invalid data: .*order_id/);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.consumers[0]!.port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^kafka_consumer_messages_dead_lettered_total\\{[^}]*\\} ${2 * PARTITIONS}$`, 'm'));
  });

  it('after the cause is fixed, the replay tool re-publishes dead letters to their topic and they are processed', async () => {
    const productId = await stack.product.createProduct(3, '1.50');
    const orderId = uuidv7();
    // An order.placed whose order is missing (say, a restore lost it) is poison...
    await producer.send({
      topic: stack.topic,
      acks: -1,
      messages: [{ key: orderId, value: envelope({ order_id: orderId, user_id: 'u1', mode: 'async', items: [{ product_id: productId, quantity: 2 }] }) }],
    });
    await eventually(() => expect(dlq.messages.some((m) => m.key === orderId)).toBe(true), 30_000);
    // ...until the order is repaired.
    const now = new Date().toISOString().slice(0, 23).replace('T', ' ');
    await stack.db.query(`INSERT INTO orders (id, user_id, status, mode, version, created_at, updated_at) VALUES (?, 'u1', 'pending', 'async', 1, ?, ?)`, [
      orderId,
      now,
      now,
    ]);
    await stack.db.query('INSERT INTO order_items (order_id, position, product_id, quantity) VALUES (?, 0, ?, 2)', [orderId, productId]);
    const deadBefore = dlq.messages.length;

    const groupId = `replay-${randomUUID()}`;
    const dryRun = await replayDeadLetters({ kafka, logger: silentLogger, dlqTopic: stack.dlqTopic, groupId, dryRun: true });
    const summary = await replayDeadLetters({ kafka, logger: silentLogger, dlqTopic: stack.dlqTopic, groupId });

    expect(dryRun).toEqual({ replayed: deadBefore, skipped: 0 });
    expect(summary).toEqual({ replayed: deadBefore, skipped: 0 });
    await eventually(async () => expect((await stack.api.get(`/orders/${orderId}`)).body).toMatchObject({ status: 'confirmed', total: '3.00' }), 30_000);
    expect(await stack.product.stockOf(productId)).toBe(1);
    // The ones still poison went back to the DLQ, marked as replayed; the group remembers its progress,
    // so a second run replays only those.
    const returned: CollectedMessage[] = await eventually(() => {
      const back = dlq.messages.slice(deadBefore);
      expect(back).toHaveLength(deadBefore - 1);
      return back;
    }, 30_000);
    for (const message of returned) expect(message.headers['dlq-replayed-from']).toMatch(new RegExp(`^${stack.dlqTopic}/0/\\d+$`));
    const again = await replayDeadLetters({ kafka, logger: silentLogger, dlqTopic: stack.dlqTopic, groupId });
    expect(again).toEqual({ replayed: deadBefore - 1, skipped: 0 });
  });
});
