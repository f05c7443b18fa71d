import { createDatabase, createLogger, Metrics, migrate } from '@eshop/common';
import { configOrExit, databaseOptions, loadMigrationConfig } from './config';
import { productMigrations } from './data/migrations';

/** Applies pending migrations to the product database and exits: a dev step before start, a Job in Kubernetes. */
async function main(): Promise<void> {
  const config = configOrExit(() => loadMigrationConfig());
  const logger = createLogger('product-migrate', config.logLevel);
  const sequelize = createDatabase(databaseOptions(config), logger, new Metrics('product-migrate'));
  try {
    const applied = await migrate(sequelize, productMigrations, logger);
    logger.info({ applied, database: config.dbName }, applied.length > 0 ? 'migrations applied' : 'schema up to date');
  } finally {
    await sequelize.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
