import { outboxMigration, type Migration } from '@eshop/common';
import { createOrders } from './0001-create-orders';
import { createIdempotencyKeys } from './0002-create-idempotency-keys';

/** Every migration of the order database, in the order they apply. */
export const orderMigrations: Migration[] = [outboxMigration(), createOrders, createIdempotencyKeys];
