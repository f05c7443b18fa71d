import { randomUUID } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import { createDatabase, Metrics } from '@eshop/common';
import { silentLogger } from '@eshop/test-support';
import { IdempotencyRepository } from '../src/data/idempotency-repository';
import { requestHash } from '../src/domain/idempotency';
import { aUserId, anOrder } from './support/factories';
import { OrderStack } from './support/order-stack';

describe('Idempotency-Key on POST /orders and POST /orders/async', () => {
  let stack: OrderStack;

  beforeAll(async () => {
    stack = await OrderStack.start({ name: 'idem' });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const key = () => `key-${randomUUID()}`;
  const ordersOf = async (userId: string) =>
    stack.db.query<{ id: string }>('SELECT id FROM orders WHERE user_id = ?', [userId]);

  describe('sync', () => {
    it('a retry with the same key and body gets the original 201 and body, and nothing is ordered or reserved again', async () => {
      const productId = await stack.product.createProduct(10, '2.25');
      const userId = aUserId();
      const body = anOrder(userId, [[productId, 2]]);
      const headers = { 'Idempotency-Key': key() };

      const first = await stack.api.post('/orders', body, headers);
      const retry = await stack.api.post('/orders', body, headers);

      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(`/orders/${first.body.id}`);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await ordersOf(userId)).toHaveLength(1);
      expect(await stack.product.stockOf(productId)).toBe(8);
      expect((await stack.product.reservationsOf(productId)).reserved).toEqual([first.body.id]);
    });

    it('the same key with a different body gets 422 idempotency_key_reused', async () => {
      const productId = await stack.product.createProduct(10);
      const headers = { 'Idempotency-Key': key() };
      const userId = aUserId();
      await stack.api.post('/orders', anOrder(userId, [[productId, 1]]), headers);

      const other = await stack.api.post('/orders', anOrder(userId, [[productId, 2]]), headers);

      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key' });
      expect(await ordersOf(userId)).toHaveLength(1);
    });

    it('a refusal is replayed too: a retry gets the original 409 even after stock arrived', async () => {
      const productId = await stack.product.createProduct(1);
      const body = anOrder(aUserId(), [[productId, 2]]);
      const headers = { 'Idempotency-Key': key() };
      const first = await stack.api.post('/orders', body, headers);
      await stack.product.api.put(`/products/${productId}`, { stock: 100 });

      const retry = await stack.api.post('/orders', body, headers);

      expect(first.status).toBe(409);
      expect(retry.status).toBe(409);
      expect(retry.contentType).toContain('application/problem+json');
      expect(retry.body).toEqual(first.body);
      expect(await stack.product.stockOf(productId)).toBe(100);
    });

    it('when 10 requests with one key race, one order is placed and every other answer is its replay or 409 in progress', async () => {
      const productId = await stack.product.createProduct(50);
      const userId = aUserId();
      const body = anOrder(userId, [[productId, 1]]);
      const headers = { 'Idempotency-Key': key() };

      const results = await Promise.all(Array.from({ length: 10 }, () => stack.api.post('/orders', body, headers)));

      const created = results.filter((r) => r.status === 201);
      const busy = results.filter((r) => r.status === 409);
      expect(created.length + busy.length).toBe(10);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
      for (const r of busy) {
        expect(r.body).toMatchObject({ code: 'idempotency_request_in_progress' });
        expect(r.headers.get('retry-after')).toBe('1');
      }
      expect(await ordersOf(userId)).toHaveLength(1);
      expect(await stack.product.stockOf(productId)).toBe(49);
      const after = await stack.api.post('/orders', body, headers);
      expect(after.body.id).toBe(created[0]!.body.id);
    });

    it('after a crash between reserving and recording, a retry resumes the same order id and does not reserve twice', async () => {
      const productId = await stack.product.createProduct(10, '7.00');
      const userId = aUserId();
      const body = anOrder(userId, [[productId, 3]]);
      const idempotencyKey = key();
      const orderId = uuidv7();
      // What a process that died mid-request leaves: the key with its order id and an expired lease,
      // and the reservation it took.
      await stack.db.query(
        `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, locked_until, created_at, updated_at)
         VALUES ('POST /orders', ?, ?, ?, 'in_progress', UTC_TIMESTAMP(3) - INTERVAL 1 SECOND, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [idempotencyKey, requestHash(body), orderId],
      );
      const reserved = await stack.product.api.post('/internal/reservations', { order_id: orderId, items: [{ product_id: productId, quantity: 3 }] });
      expect(reserved.status).toBe(201);

      const retry = await stack.api.post('/orders', body, { 'Idempotency-Key': idempotencyKey });

      expect(retry.status).toBe(201);
      expect(retry.body).toMatchObject({ id: orderId, status: 'confirmed', total: '21.00' });
      expect(await stack.product.stockOf(productId)).toBe(7);
      expect((await stack.product.reservationsOf(productId)).reserved).toEqual([orderId]);
      expect(await ordersOf(userId)).toHaveLength(1);
    });

    it('a retry of a request whose reservation was compensated starts over with a new order id', async () => {
      const productId = await stack.product.createProduct(10, '1.00');
      const userId = aUserId();
      const body = anOrder(userId, [[productId, 1]]);
      const idempotencyKey = key();
      const spent = uuidv7();
      await stack.db.query(
        `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, locked_until, created_at, updated_at)
         VALUES ('POST /orders', ?, ?, ?, 'in_progress', UTC_TIMESTAMP(3) - INTERVAL 1 SECOND, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [idempotencyKey, requestHash(body), spent],
      );
      expect((await stack.product.api.post(`/internal/reservations/${spent}/release`)).status).toBe(200);

      const retry = await stack.api.post('/orders', body, { 'Idempotency-Key': idempotencyKey });

      expect(retry.status).toBe(201);
      expect(retry.body.id).not.toBe(spent);
      expect(await stack.product.stockOf(productId)).toBe(9);
      expect((await stack.api.post('/orders', body, { 'Idempotency-Key': idempotencyKey })).body.id).toBe(retry.body.id);
    });

    it('while the first request still holds the key, a retry gets 409 idempotency_request_in_progress', async () => {
      const productId = await stack.product.createProduct(10);
      const body = anOrder(aUserId(), [[productId, 1]]);
      const idempotencyKey = key();
      await stack.db.query(
        `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, locked_until, created_at, updated_at)
         VALUES ('POST /orders', ?, ?, ?, 'in_progress', UTC_TIMESTAMP(3) + INTERVAL 1 MINUTE, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [idempotencyKey, requestHash(body), uuidv7()],
      );

      const retry = await stack.api.post('/orders', body, { 'Idempotency-Key': idempotencyKey });

      expect(retry.status).toBe(409);
      expect(retry.body).toMatchObject({ code: 'idempotency_request_in_progress' });
      expect(await stack.product.stockOf(productId)).toBe(10);
    });
  });

  describe('async', () => {
    it('a retry with the same key and body gets the original 202 and body, and one order is pending', async () => {
      const productId = await stack.product.createProduct(10);
      const userId = aUserId();
      const body = anOrder(userId, [[productId, 1]]);
      const headers = { 'Idempotency-Key': key() };

      const first = await stack.api.post('/orders/async', body, headers);
      const retry = await stack.api.post('/orders/async', body, headers);

      expect(first.status).toBe(202);
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(`/orders/${first.body.id}`);
      expect(await ordersOf(userId)).toHaveLength(1);
      const [outbox] = await stack.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM outbox_events WHERE message_key = ?`, [first.body.id]);
      expect(Number(outbox?.n ?? 0)).toBeLessThanOrEqual(1); // one order.placed (maybe already relayed)
    });

    it('when 10 requests with one key race, all get the same 202 and one order exists', async () => {
      const productId = await stack.product.createProduct(10);
      const userId = aUserId();
      const headers = { 'Idempotency-Key': key() };

      const results = await Promise.all(Array.from({ length: 10 }, () => stack.api.post('/orders/async', anOrder(userId, [[productId, 1]]), headers)));

      expect(results.map((r) => r.status)).toEqual(Array(10).fill(202));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(await ordersOf(userId)).toHaveLength(1);
    });

    it('the same key with a different body gets 422 idempotency_key_reused', async () => {
      const productId = await stack.product.createProduct(10);
      const headers = { 'Idempotency-Key': key() };
      await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]]), headers);

      const other = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]]), headers);

      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ code: 'idempotency_key_reused' });
    });
  });

  it('keys are scoped per endpoint: one key on both POSTs places two orders', async () => {
    const productId = await stack.product.createProduct(10);
    const userId = aUserId();
    const headers = { 'Idempotency-Key': key() };

    const sync = await stack.api.post('/orders', anOrder(userId, [[productId, 1]]), headers);
    const async = await stack.api.post('/orders/async', anOrder(userId, [[productId, 1]]), headers);

    expect(sync.status).toBe(201);
    expect(async.status).toBe(202);
    expect(async.body.id).not.toBe(sync.body.id);
  });

  it.each([
    ['too long', 'k'.repeat(129)],
    ['with a space', 'my key'],
    ['empty', ''],
  ])('a malformed Idempotency-Key (%s) gets 400 naming the header', async (_case, value) => {
    const productId = await stack.product.createProduct(10);

    const res = await stack.api.post('/orders/async', anOrder(aUserId(), [[productId, 1]]), { 'Idempotency-Key': value });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed', field: 'Idempotency-Key' });
  });

  it('purges keys older than the retention and keeps newer ones', async () => {
    const old = key();
    const recent = key();
    for (const [k, age] of [[old, 'INTERVAL 2 DAY'], [recent, 'INTERVAL 1 HOUR']] as const) {
      await stack.db.query(
        `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, created_at, updated_at)
         VALUES ('POST /orders/async', ?, 'h', ?, 'completed', UTC_TIMESTAMP(3) - ${age}, UTC_TIMESTAMP(3))`,
        [k, uuidv7()],
      );
    }
    const sequelize = createDatabase(stack.db.options, silentLogger, new Metrics('purge-test'));
    try {
      const purged = await new IdempotencyRepository(sequelize).purgeOlderThan(new Date(Date.now() - 24 * 3_600_000));

      expect(purged).toBeGreaterThanOrEqual(1);
    } finally {
      await sequelize.close();
    }
    const left = await stack.db.query<{ idempotency_key: string }>('SELECT idempotency_key FROM idempotency_keys WHERE idempotency_key IN (?, ?)', [old, recent]);
    expect(left.map((r) => r.idempotency_key)).toEqual([recent]);
  });
});
