import { inTransaction, Transaction, type Sequelize } from '@eshop/common';

export type { Transaction };

/** Runs work in one database transaction (retried when InnoDB picks it as a deadlock victim). */
export type Transact = <T>(work: (tx: Transaction) => Promise<T>) => Promise<T>;

/**
 * READ COMMITTED on purpose: every write here is a single guarded statement or follows a locking
 * read, so repeatable-read snapshots buy nothing, while their gap locks (on reservation ids and
 * reservation lines that do not exist yet) made concurrent reserves and releases of neighbouring
 * order ids deadlock. Plain reads see the latest committed rows.
 */
export function transactor(sequelize: Sequelize): Transact {
  return (work) => inTransaction(sequelize, work, { isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED });
}

/** MySQL/MariaDB error number of a failed query, if any. */
export function sqlErrno(err: unknown): number | undefined {
  const e = err as { original?: { errno?: unknown }; parent?: { errno?: unknown } } | undefined;
  const errno = e?.original?.errno ?? e?.parent?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

export const ER_DUP_ENTRY = 1062;
