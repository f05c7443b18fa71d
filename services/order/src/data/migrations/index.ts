import { outboxMigration, pendingMigrations, type Migration, type Sequelize } from '@eshop/common';
import { createOrders } from './0001-create-orders';
import { createIdempotencyKeys } from './0002-create-idempotency-keys';

/** Every migration of the order database, in the order they apply. */
export const orderMigrations: Migration[] = [outboxMigration(), createOrders, createIdempotencyKeys];

/** Fails start-up on an outdated schema: migrations run as their own step (dist/migrate.js, a Kubernetes Job). */
export async function assertMigrated(sequelize: Sequelize): Promise<void> {
  const pending = await pendingMigrations(sequelize, orderMigrations);
  if (pending.length > 0) {
    throw new Error(`database ${sequelize.getDatabaseName()} is missing migrations ${pending.join(', ')}; run dist/migrate.js first`);
  }
}
