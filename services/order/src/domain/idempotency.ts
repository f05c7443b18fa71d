import { createHash } from 'node:crypto';
import { AppError } from '@eshop/common';
import { uuidv7 } from 'uuidv7';
import type { IdempotencyRepository } from '../data/idempotency-repository';

/** Keys are scoped per endpoint: the same key on POST /orders and POST /orders/async are two keys. */
export type IdempotencyScope = 'POST /orders' | 'POST /orders/async';

/** The Idempotency-Key of a request and the fingerprint of its (validated, normalised) body. */
export interface IdempotencyKey {
  scope: IdempotencyScope;
  key: string;
  requestHash: string;
}

/** A response as first sent; a replay sends exactly this again. */
export interface RecordedResponse {
  status: number;
  body: unknown;
}

/** Fingerprint of a request body: SHA-256 of its JSON with object keys sorted, so key order and spacing do not matter. */
export function requestHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function keyReused(key: IdempotencyKey): AppError {
  return new AppError({
    status: 422,
    code: 'idempotency_key_reused',
    detail: `Idempotency-Key ${JSON.stringify(key.key)} was already used for a different request to ${key.scope}`,
    field: 'Idempotency-Key',
    extensions: { location: 'header' },
  });
}

export type Claim = { kind: 'run'; orderId: string; resumed: boolean } | { kind: 'replay'; response: RecordedResponse };

/**
 * Claims a key for a request that calls the product service before it commits (sync orders). The key
 * is stored with a fresh order id BEFORE the call, so:
 * - a duplicate while the first still runs gets 409 idempotency_request_in_progress;
 * - a retry after the first finished gets its recorded response;
 * - a retry after the first one's process died (lease expired) takes the key over and runs again with
 *   the same order id, which the product service answers from the existing reservation.
 */
export async function claimKey(repository: IdempotencyRepository, key: IdempotencyKey, leaseMs: number): Promise<Claim> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const orderId = uuidv7();
    if (await repository.claim({ ...key, orderId }, leaseMs)) return { kind: 'run', orderId, resumed: false };
    const existing = await repository.find(key.scope, key.key);
    if (!existing) continue; // abandoned between our insert and read: claim again
    if (existing.requestHash !== key.requestHash) throw keyReused(key);
    if (existing.state === 'completed' && existing.response) return { kind: 'replay', response: existing.response };
    if (await repository.takeOver(key.scope, key.key, leaseMs)) return { kind: 'run', orderId: existing.orderId, resumed: true };
    throw new AppError({
      status: 409,
      code: 'idempotency_request_in_progress',
      detail: `a request with Idempotency-Key ${JSON.stringify(key.key)} is still being processed; retry shortly`,
      headers: { 'Retry-After': '1' },
      extensions: { location: 'header' },
      field: 'Idempotency-Key',
    });
  }
  throw new Error(`could not claim Idempotency-Key ${key.key}`);
}
