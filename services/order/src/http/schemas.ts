import { AppError, schemas } from '@eshop/common';
import { z } from 'zod';
import { ORDER_STATUSES } from '../domain/order-status';

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 10_000;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const USER_ID_MESSAGE = 'must be 1-64 characters of A-Z, a-z, 0-9, _ or -, or a positive integer';

/** A user id as a string, or a positive integer (seed data); stored and returned as a string. */
const userId = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && USER_ID.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  ctx.addIssue({ code: 'custom', message: value === undefined ? 'is required' : USER_ID_MESSAGE });
  return z.NEVER;
});

const statusEnum = z.enum(ORDER_STATUSES, { message: `must be one of ${ORDER_STATUSES.join(', ')}` });

/** POST /orders and POST /orders/async. */
export const placeOrderBody = z
  .strictObject({
    user_id: userId,
    items: z
      .array(
        z.strictObject({
          product_id: schemas.numericId,
          quantity: z
            .number({ message: 'must be an integer' })
            .int('must be an integer')
            .min(1, 'must be at least 1')
            .max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`),
        }),
        { message: 'must be an array of {product_id, quantity}' },
      )
      .min(1, 'must contain at least one item')
      .max(MAX_ITEMS, `must contain at most ${MAX_ITEMS} items`),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<number>();
    body.items.forEach((item, i) => {
      if (seen.has(item.product_id)) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'product_id'], message: 'duplicate product_id; use one line per product with the total quantity' });
      }
      seen.add(item.product_id);
    });
  });

export type PlaceOrderBody = z.output<typeof placeOrderBody>;

/** PUT /orders/:id/status. */
export const statusChangeBody = z
  .strictObject({
    status: statusEnum,
    reason: z.string().trim().min(1, 'must not be blank').max(255, 'must be at most 255 characters').optional(),
  })
  .superRefine((body, ctx) => {
    if (body.reason !== undefined && body.status !== 'rejected' && body.status !== 'cancelled') {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'only applies to rejected or cancelled' });
    }
  });

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const orderIdParams = z.object({
  id: z
    .string()
    .regex(UUID, 'must be an order id (a UUID)')
    .transform((v) => v.toLowerCase()),
});

const pageSize = z
  .string()
  .regex(/^\d{1,4}$/, `must be an integer between 1 and ${MAX_PAGE_SIZE}`)
  .transform(Number)
  .pipe(z.number().int().min(1, `must be between 1 and ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `must be between 1 and ${MAX_PAGE_SIZE}`));

/** GET /orders; unknown parameters are rejected so a typo (`userId`) does not silently list everything. */
export const listOrdersQuery = z.strictObject({
  user_id: z.string().regex(USER_ID, 'must be 1-64 characters of A-Z, a-z, 0-9, _ or -').optional(),
  status: statusEnum.optional(),
  limit: pageSize.default(DEFAULT_PAGE_SIZE),
  cursor: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
});

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** The Idempotency-Key header, if sent: 1-128 visible ASCII characters (a repeated header is joined by Node and fails). */
export function idempotencyKeyHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && IDEMPOTENCY_KEY.test(raw)) return raw;
  const message = 'must be 1-128 visible ASCII characters';
  throw new AppError({
    status: 400,
    code: 'validation_failed',
    detail: `invalid header: Idempotency-Key ${message}`,
    field: 'Idempotency-Key',
    errors: [{ field: 'Idempotency-Key', message, code: 'invalid_format' }],
    extensions: { location: 'header' },
  });
}

/** The order id a page cursor points before (cursors come from `encodeCursor({ before })`). */
export function cursorBefore(position: Record<string, unknown>): string | undefined {
  const { before } = position;
  return typeof before === 'string' && UUID.test(before) ? before.toLowerCase() : undefined;
}
