import { configOrExit, databaseOptions, type DatabaseConfig } from './config';
import { createDatabase, migrate, type Migration } from './db';
import { createLogger } from './logger';
import { Metrics } from './metrics';

/**
 * Entry point of a service's migration step (`dist/migrate.js`): applies pending migrations and exits
 * 0, or exits 1 with the reason. Run before the service starts — locally by `local/platform.sh up`,
 * in Kubernetes as a Job or init container; services never migrate implicitly.
 */
export function runMigrationJob(
  name: string,
  loadConfig: () => DatabaseConfig & { logLevel: string },
  migrations: Migration[],
): void {
  const config = configOrExit(loadConfig);
  const logger = createLogger(name, config.logLevel);
  const sequelize = createDatabase(databaseOptions(config), logger, new Metrics(name));
  migrate(sequelize, migrations, logger)
    .then((applied) => {
      logger.info({ applied, database: config.dbName }, applied.length > 0 ? 'migrations applied' : 'schema up to date');
    })
    .finally(() => sequelize.close())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        logger.fatal({ err }, 'migration failed');
        process.exit(1);
      },
    );
}
