import { inTransaction, type Sequelize, type Transaction } from '@eshop/common';

export type { Transaction } from '@eshop/common';

/** Runs work in one database transaction (retried when InnoDB picks it as a deadlock victim). */
export type Transact = <T>(work: (tx: Transaction) => Promise<T>) => Promise<T>;

export function transactor(sequelize: Sequelize): Transact {
  return (work) => inTransaction(sequelize, work);
}
