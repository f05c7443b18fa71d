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
