import { ER_DUP_ENTRY, QueryTypes, sqlErrno, type Sequelize } from '@eshop/common';
import type { Transaction } from './transactions';

export type IdempotencyState = 'in_progress' | 'completed';

/** A stored Idempotency-Key: which request it was for, its order id and, once done, the response. */
export interface IdempotencyRecord {
  scope: string;
  key: string;
  requestHash: string;
  orderId: string;
  state: IdempotencyState;
  /** While in progress: until when the request that owns the key counts as alive. */
  lockedUntil: Date | null;
  response: { status: number; body: unknown } | null;
}

interface Row {
  scope: string;
  idempotency_key: string;
  request_hash: string;
  order_id: string;
  state: IdempotencyState;
  locked_until: Date | null;
  response_status: number | null;
  response_body: string | null;
}

export interface NewKey {
  scope: string;
  key: string;
  requestHash: string;
  orderId: string;
}

/** Idempotency keys per endpoint scope; leases use the database clock, so replicas agree on expiry. */
export class IdempotencyRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /** Claims the key for a request about to run, leased for `leaseMs`. False when the key exists already. */
  async claim(record: NewKey, leaseMs: number): Promise<boolean> {
    return this.insert(
      `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, locked_until, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'in_progress', UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
      [record.scope, record.key, record.requestHash, record.orderId, leaseMs * 1000],
    );
  }

  /**
   * Stores a key together with its final response inside the caller's transaction (async intake, where
   * the whole request is one transaction). A concurrent duplicate waits on the key's row lock and then
   * sees this row. False when the key exists already.
   */
  async insertCompleted(tx: Transaction, record: NewKey, response: { status: number; body: unknown }): Promise<boolean> {
    return this.insert(
      `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, order_id, state, response_status, response_body, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'completed', ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
      [record.scope, record.key, record.requestHash, record.orderId, response.status, JSON.stringify(response.body)],
      tx,
    );
  }

  async find(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.sequelize.query<Row>(
      `SELECT scope, idempotency_key, request_hash, order_id, state, locked_until, response_status, response_body
       FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?`,
      { replacements: [scope, key], type: QueryTypes.SELECT },
    );
    if (!row) return undefined;
    return {
      scope: row.scope,
      key: row.idempotency_key,
      requestHash: row.request_hash,
      orderId: row.order_id,
      state: row.state,
      lockedUntil: row.locked_until,
      response:
        row.response_status === null ? null : { status: Number(row.response_status), body: JSON.parse(row.response_body ?? 'null') as unknown },
    };
  }

  /** Takes over an in-progress key whose lease ran out (its request's process died). True if this caller won. */
  async takeOver(scope: string, key: string, leaseMs: number): Promise<boolean> {
    const [, affected] = await this.sequelize.query(
      `UPDATE idempotency_keys SET locked_until = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, updated_at = UTC_TIMESTAMP(3)
       WHERE scope = ? AND idempotency_key = ? AND state = 'in_progress' AND locked_until < UTC_TIMESTAMP(3)`,
      { replacements: [leaseMs * 1000, scope, key], type: QueryTypes.UPDATE },
    );
    return Number(affected) === 1;
  }

  /** Gives an in-progress key a new order id (its earlier order id was compensated and is unusable). */
  async reassign(scope: string, key: string, fromOrderId: string, toOrderId: string): Promise<boolean> {
    const [, affected] = await this.sequelize.query(
      `UPDATE idempotency_keys SET order_id = ?, updated_at = UTC_TIMESTAMP(3)
       WHERE scope = ? AND idempotency_key = ? AND order_id = ? AND state = 'in_progress'`,
      { replacements: [toOrderId, scope, key, fromOrderId], type: QueryTypes.UPDATE },
    );
    return Number(affected) === 1;
  }

  /** Records the final response of an in-progress key; with `tx`, atomically with the order it created. */
  async complete(scope: string, key: string, orderId: string, response: { status: number; body: unknown }, tx?: Transaction): Promise<void> {
    await this.sequelize.query(
      `UPDATE idempotency_keys SET state = 'completed', locked_until = NULL, response_status = ?, response_body = ?, updated_at = UTC_TIMESTAMP(3)
       WHERE scope = ? AND idempotency_key = ? AND order_id = ? AND state = 'in_progress'`,
      { replacements: [response.status, JSON.stringify(response.body), scope, key, orderId], type: QueryTypes.UPDATE, transaction: tx },
    );
  }

  /** Forgets an in-progress key whose request failed without effect, so a retry runs it afresh. */
  async abandon(scope: string, key: string, orderId: string): Promise<void> {
    await this.sequelize.query(
      `DELETE FROM idempotency_keys WHERE scope = ? AND idempotency_key = ? AND order_id = ? AND state = 'in_progress'`,
      { replacements: [scope, key, orderId], type: QueryTypes.DELETE },
    );
  }

  /** Deletes keys older than `before`; returns how many. Clients must not retry with a key older than the retention. */
  async purgeOlderThan(before: Date, limit = 1000): Promise<number> {
    const [result] = await this.sequelize.query('DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?', {
      replacements: [before.toISOString().slice(0, 23).replace('T', ' '), limit],
    });
    return Number((result as { affectedRows?: number }).affectedRows ?? 0);
  }

  private async insert(sql: string, replacements: unknown[], tx?: Transaction): Promise<boolean> {
    try {
      await this.sequelize.query(sql, { replacements, type: QueryTypes.INSERT, transaction: tx });
      return true;
    } catch (err) {
      if (sqlErrno(err) === ER_DUP_ENTRY) return false;
      throw err;
    }
  }
}
