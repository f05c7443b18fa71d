import {
  createDatabase,
  ER_DUP_ENTRY,
  isTransientDatabaseError,
  Metrics,
  migrate,
  pendingMigrations,
  sqlErrno,
  type Migration,
  type Sequelize,
} from '@eshop/common';
import { createTestDatabase, silentLogger, type TestDatabase } from '@eshop/test-support';

const table = (name: string): Migration => ({
  name,
  up: async ({ context }) => {
    await context.sequelize.query(`CREATE TABLE \`${name}\` (id INT PRIMARY KEY)`);
  },
});

describe('pendingMigrations and sqlErrno (real MariaDB)', () => {
  let db: TestDatabase;
  let sequelize: Sequelize;

  beforeAll(async () => {
    db = await createTestDatabase('dbhelpers');
    sequelize = createDatabase(db.options, silentLogger, new Metrics('db-helpers-test'));
  });

  afterAll(async () => {
    await sequelize?.close();
    await db?.drop();
  });

  it('lists every migration of a fresh database, then only the ones not applied yet, in list order', async () => {
    const all = [table('m1'), table('m2'), table('m3')];
    expect(await pendingMigrations(sequelize, all)).toEqual(['m1', 'm2', 'm3']);

    await migrate(sequelize, all.slice(0, 2), silentLogger);

    expect(await pendingMigrations(sequelize, all)).toEqual(['m3']);
  });

  it('reads the server error number of a failed query, and nothing from other errors', async () => {
    await sequelize.query('INSERT INTO m1 (id) VALUES (1)');
    const duplicate = await sequelize.query('INSERT INTO m1 (id) VALUES (1)').catch((err: unknown) => err);

    expect(sqlErrno(duplicate)).toBe(ER_DUP_ENTRY);
    expect(sqlErrno(new Error('not from the database'))).toBeUndefined();
    expect(sqlErrno(undefined)).toBeUndefined();
  });
});

describe('isTransientDatabaseError', () => {
  it('calls an unreachable server transient and a bad statement permanent', async () => {
    const unreachable = createDatabase(
      { host: '127.0.0.1', port: 1, user: 'x', password: 'x', database: 'x', poolMax: 1 },
      silentLogger,
      new Metrics('transient-test'),
    );
    const refused = await unreachable.query('SELECT 1').catch((err: unknown) => err);
    await unreachable.close();
    expect(isTransientDatabaseError(refused)).toBe(true);

    const db = await createTestDatabase('transient');
    const real = createDatabase(db.options, silentLogger, new Metrics('transient-test-2'));
    try {
      const syntax = await real.query('SELEC nonsense').catch((err: unknown) => err);
      expect(isTransientDatabaseError(syntax)).toBe(false);
      expect(isTransientDatabaseError(new Error('plain'))).toBe(false);
    } finally {
      await real.close();
      await db.drop();
    }
  });
});
