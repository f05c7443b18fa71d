import { moneyToCents, schemas } from '@eshop/common';
import { z } from 'zod';

export const MAX_STOCK = 1_000_000_000;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

const name = z.string().trim().min(1, 'must not be blank').max(200, 'must be at most 200 characters');
const description = z.string().max(2000, 'must be at most 2000 characters');
const stock = z.number().int('must be an integer').min(0, 'must not be negative').max(MAX_STOCK, `must be at most ${MAX_STOCK}`);

/** POST /products. */
export const createProductBody = z.strictObject({
  name,
  description: description.default(''),
  price: schemas.money,
  stock,
});

/** PUT /products/:id: any subset of the writable fields, at least one. */
export const updateProductBody = z
  .strictObject({
    name: name.optional(),
    description: description.optional(),
    price: schemas.money.optional(),
    stock: stock.optional(),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: 'must contain at least one of name, description, price, stock',
  });

export const productIdParams = z.object({ id: schemas.numericId });

const pageSize = z
  .string()
  .regex(/^\d{1,4}$/, `must be an integer between 1 and ${MAX_PAGE_SIZE}`)
  .transform(Number)
  .pipe(z.number().int().min(1, `must be between 1 and ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `must be between 1 and ${MAX_PAGE_SIZE}`));

/** GET /products query; unknown parameters are rejected so a typo (`max-price`) is not silently ignored. */
export const listProductsQuery = z
  .strictObject({
    limit: pageSize.default(DEFAULT_PAGE_SIZE),
    cursor: z.string().min(1, 'must not be empty').max(200).optional(),
    q: z.string().trim().min(1, 'must not be blank').max(200, 'must be at most 200 characters').optional(),
    min_price: schemas.money.optional(),
    max_price: schemas.money.optional(),
  })
  .superRefine((query, ctx) => {
    if (query.min_price !== undefined && query.max_price !== undefined && moneyToCents(query.min_price) > moneyToCents(query.max_price)) {
      ctx.addIssue({ code: 'custom', path: ['min_price'], message: 'must not be greater than max_price' });
    }
  });

const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const orderId = z.string().regex(ORDER_ID, 'must be 1-64 characters of A-Z, a-z, 0-9, _ or -');

/** POST /internal/reservations. */
export const reserveBody = z
  .strictObject({
    order_id: orderId,
    items: z
      .array(
        z.strictObject({
          product_id: schemas.numericId,
          quantity: z.number().int('must be an integer').min(1, 'must be at least 1').max(100_000, 'must be at most 100000'),
        }),
      )
      .min(1, 'must contain at least one item')
      .max(100, 'must contain at most 100 items'),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<number>();
    body.items.forEach((item, i) => {
      if (seen.has(item.product_id)) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'product_id'], message: 'duplicate product_id; use one line per product' });
      }
      seen.add(item.product_id);
    });
  });

export const orderIdParams = z.object({ orderId });

/** GET /internal/reservations: held reservations older than a moment, one page after a cursor order id. */
export const heldReservationsQuery = z.strictObject({
  status: z.literal('reserved', { message: 'only reserved can be listed' }),
  created_before: z.iso.datetime({ message: 'must be an ISO 8601 UTC timestamp', offset: false }).transform((v) => new Date(v)),
  after: z.union([orderId, z.literal('')]).default(''),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be an integer between 1 and 500')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be between 1 and 500').max(500, 'must be between 1 and 500'))
    .default(100),
});
