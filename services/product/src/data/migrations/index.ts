import { outboxMigration, QueryTypes, type Migration, type Sequelize } from '@eshop/common';
import { createProducts } from './0001-create-products';
import { createReservations } from './0002-create-reservations';

/** Every migration of the product database, in the order they apply. */
export const productMigrations: Migration[] = [outboxMigration(), createProducts, createReservations];

/**
 * Names of migrations not yet applied. The service refuses to start on an outdated schema instead of
 * migrating implicitly: migrations run once, as their own step (`dist/migrate.js`, a Kubernetes Job).
 */
export async function pendingMigrations(sequelize: Sequelize): Promise<string[]> {
  const [table] = await sequelize.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'`,
    { type: QueryTypes.SELECT },
  );
  const applied = new Set<string>();
  if (Number(table?.n ?? 0) > 0) {
    const rows = await sequelize.query<{ name: string }>('SELECT name FROM schema_migrations', { type: QueryTypes.SELECT });
    for (const row of rows) applied.add(row.name);
  }
  return productMigrations.map((m) => m.name).filter((name) => !applied.has(name));
}
