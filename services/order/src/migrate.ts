import { configOrExit, createDatabase, createLogger, Metrics, migrate } from '@eshop/common';
import { databaseOptions, loadMigrationConfig } from './config';
import { orderMigrations } from './data/migrations';

/** Applies pending migrations to the order database and exits: a dev step before start, a Job in Kubernetes. */
async function main(): Promise<void> {
  const config = configOrExit(() => loadMigrationConfig());
  const logger = createLogger('order-migrate', config.logLevel);
  const sequelize = createDatabase(databaseOptions(config), logger, new Metrics('order-migrate'));
  try {
    const applied = await migrate(sequelize, orderMigrations, logger);
    logger.info({ applied, database: config.dbName }, applied.length > 0 ? 'migrations applied' : 'schema up to date');
  } finally {
    await sequelize.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
