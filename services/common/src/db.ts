import { ConnectionError, QueryTypes, Sequelize, TimeoutError, Transaction, type QueryInterface } from 'sequelize';
import { Umzug, SequelizeStorage, type RunnableMigration } from 'umzug';
import type { Logger } from 'pino';
import type { Metrics } from './metrics';

export { QueryTypes, Sequelize, Transaction, DataTypes, Op } from 'sequelize';
export type { QueryInterface } from 'sequelize';

export interface DatabaseOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  poolMax: number;
}

interface PoolStats {
  size: number;
  available: number;
  using: number;
  waiting: number;
}

/** Sequelize on mysql2 with UTC timestamps, DECIMAL kept as strings, and pool metrics. */
export function createDatabase(options: DatabaseOptions, logger: Logger, metrics: Metrics): Sequelize {
  const sequelize = new Sequelize(options.database, options.user, options.password, {
    host: options.host,
    port: options.port,
    dialect: 'mysql',
    timezone: '+00:00',
    logging: (sql) => logger.trace({ sql }, 'sql'),
    benchmark: false,
    // mysql2 returns DECIMAL as strings: money never passes through a binary float.
    dialectOptions: { decimalNumbers: false, supportBigNumbers: true, bigNumberStrings: false, charset: 'utf8mb4' },
    define: { underscored: true, freezeTableName: true },
    pool: { max: options.poolMax, min: 0, acquire: 10_000, idle: 30_000, evict: 5_000 },
  });

  const pool = () => (sequelize.connectionManager as unknown as { pool?: { write?: PoolStats } & PoolStats }).pool;
  const stats = (): PoolStats | undefined => {
    const p = pool();
    return p && typeof p.size === 'number' ? p : p?.write;
  };
  metrics.gauge({
    name: 'db_pool_connections',
    help: 'Connections in the database pool by state (in_use, idle).',
    labelNames: ['state'] as const,
    collect() {
      const s = stats();
      this.set({ state: 'in_use' }, s?.using ?? 0);
      this.set({ state: 'idle' }, s?.available ?? 0);
    },
  });
  metrics.gauge({
    name: 'db_pool_waiting_requests',
    help: 'Callers waiting for a pooled database connection.',
    collect() {
      this.set(stats()?.waiting ?? 0);
    },
  });
  metrics.gauge({
    name: 'db_pool_max_connections',
    help: 'Configured maximum size of the database pool.',
    collect() {
      this.set(options.poolMax);
    },
  });
  const acquire = metrics.histogram({
    name: 'db_pool_acquire_duration_seconds',
    help: 'Time spent waiting for a pooled database connection.',
  });
  const started = new WeakMap<object, bigint>();
  sequelize.addHook('beforePoolAcquire', (config) => {
    started.set(config as object, process.hrtime.bigint());
  });
  sequelize.addHook('afterPoolAcquire', (_connection, config) => {
    const t0 = started.get(config as object);
    if (t0 !== undefined) acquire.observe(Number(process.hrtime.bigint() - t0) / 1e9);
  });
  return sequelize;
}

/** Readiness: a trivial query proves the pool can reach the server. */
export async function pingDatabase(sequelize: Sequelize): Promise<void> {
  await sequelize.query('SELECT 1', { type: QueryTypes.SELECT });
}

export type Migration = RunnableMigration<QueryInterface>;

/**
 * Applies pending versioned migrations, recorded in `schema_migrations`.
 * A named lock serialises replicas that start at the same time.
 */
export async function migrate(sequelize: Sequelize, migrations: Migration[], logger: Logger): Promise<string[]> {
  const umzug = new Umzug({
    migrations,
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: {
      info: (m) => logger.info(m, 'migration'),
      warn: (m) => logger.warn(m, 'migration'),
      error: (m) => logger.error(m, 'migration'),
      debug: (m) => logger.debug(m, 'migration'),
    },
  });
  const lockName = `migrations:${sequelize.getDatabaseName()}`;
  return sequelize.transaction(async (transaction) => {
    const [row] = await sequelize.query<{ got: number | null }>('SELECT GET_LOCK(?, 120) AS got', {
      replacements: [lockName],
      type: QueryTypes.SELECT,
      transaction,
    });
    if (row?.got !== 1) throw new Error(`could not take the migration lock ${lockName}`);
    try {
      const applied = await umzug.up();
      return applied.map((m) => m.name);
    } finally {
      await sequelize.query('SELECT RELEASE_LOCK(?)', { replacements: [lockName], transaction });
    }
  });
}

/**
 * Names of migrations not yet applied, in list order. Services refuse to start on an outdated schema
 * instead of migrating implicitly: migrations run once, as their own step (a Kubernetes Job).
 */
export async function pendingMigrations(sequelize: Sequelize, migrations: readonly Migration[]): Promise<string[]> {
  const [table] = await sequelize.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'`,
    { type: QueryTypes.SELECT },
  );
  const applied = new Set<string>();
  if (Number(table?.n ?? 0) > 0) {
    const rows = await sequelize.query<{ name: string }>('SELECT name FROM schema_migrations', { type: QueryTypes.SELECT });
    for (const row of rows) applied.add(row.name);
  }
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}

/** Fails start-up on an outdated schema: migrations run as their own step (dist/migrate.js, a Kubernetes Job). */
export async function assertMigrated(sequelize: Sequelize, migrations: readonly Migration[]): Promise<void> {
  const pending = await pendingMigrations(sequelize, migrations);
  if (pending.length > 0) {
    throw new Error(`database ${sequelize.getDatabaseName()} is missing migrations ${pending.join(', ')}; run dist/migrate.js first`);
  }
}

/** MySQL/MariaDB error number of a failed query (e.g. ER_DUP_ENTRY), if the error came from the server. */
export function sqlErrno(err: unknown): number | undefined {
  const e = err as { original?: { errno?: unknown }; parent?: { errno?: unknown } } | undefined;
  const errno = e?.original?.errno ?? e?.parent?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Duplicate key on a PRIMARY or UNIQUE index. */
export const ER_DUP_ENTRY = 1062;

const TRANSIENT_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const TRANSIENT_ERRNOS = new Set([
  1040 /* too many connections */, 1053 /* server shutdown */, 1205 /* lock wait timeout */, 1213 /* deadlock */,
  1927 /* connection killed */, 2006 /* server gone away */, 2013 /* lost connection */,
]);

/** True for database failures that go away by themselves (server restarting, connection lost, lock contention). */
export function isTransientDatabaseError(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true;
  const e = err as { original?: { code?: unknown; errno?: unknown; fatal?: unknown }; parent?: { code?: unknown; errno?: unknown; fatal?: unknown } } | undefined;
  const cause = e?.original ?? e?.parent;
  if (!cause) return false;
  if (cause.fatal === true) return true; // mysql2 marks errors that broke the connection as fatal
  if (typeof cause.code === 'string' && TRANSIENT_CODES.has(cause.code)) return true;
  return typeof cause.errno === 'number' && TRANSIENT_ERRNOS.has(cause.errno);
}

const RETRYABLE_ERRNOS = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

function isRetryable(err: unknown): boolean {
  const errno = sqlErrno(err);
  return errno !== undefined && RETRYABLE_ERRNOS.has(errno);
}

/** A managed transaction, retried a few times when InnoDB picks it as a deadlock victim. */
export async function inTransaction<T>(
  sequelize: Sequelize,
  work: (transaction: Transaction) => Promise<T>,
  options: { retries?: number; isolationLevel?: Transaction.ISOLATION_LEVELS } = {},
): Promise<T> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await sequelize.transaction({ isolationLevel: options.isolationLevel }, work);
    } catch (err) {
      if (attempt >= retries || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 * 2 ** attempt + Math.random() * 10));
    }
  }
}
