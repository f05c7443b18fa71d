import { ER_DUP_ENTRY, QueryTypes, sqlErrno, type Sequelize } from '@eshop/common';
import type { Reservation, ReservationItem, ReservationStatus } from '../domain/reservation';
import type { Transaction } from './transactions';

interface ReservationRow {
  order_id: string;
  status: ReservationStatus;
  created_at: Date;
  updated_at: Date;
  released_at: Date | null;
}

interface ItemRow {
  product_id: number | string;
  name: string;
  quantity: number;
  unit_price: string;
}

/** How a read of the reservation row locks: `share` to compare, `update` to change it next. Lines are never locked: they do not change once committed. */
export type ReadLock = 'none' | 'share' | 'update';

const LOCK_CLAUSE: Record<ReadLock, string> = { none: '', share: ' LOCK IN SHARE MODE', update: ' FOR UPDATE' };

/** Reservations and their lines; an order id has at most one reservation (primary key). */
export class ReservationRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Claims the order id. Returns false when a reservation (or tombstone) already exists; a concurrent
   * insert of the same id waits for the other transaction and then sees its outcome.
   */
  async claim(tx: Transaction, orderId: string, status: ReservationStatus): Promise<boolean> {
    try {
      await this.sequelize.query(
        `INSERT INTO reservations (order_id, status, created_at, updated_at, released_at)
         VALUES (?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), ${status === 'released' ? 'UTC_TIMESTAMP(3)' : 'NULL'})`,
        { replacements: [orderId, status], type: QueryTypes.INSERT, transaction: tx },
      );
      return true;
    } catch (err) {
      if (sqlErrno(err) === ER_DUP_ENTRY) return false;
      throw err;
    }
  }

  async addItems(tx: Transaction, orderId: string, items: readonly ReservationItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.sequelize.query(
      `INSERT INTO reservation_items (order_id, product_id, quantity, unit_price, name) VALUES ${items.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      {
        replacements: items.flatMap((i) => [orderId, i.productId, i.quantity, i.unitPrice, i.name]),
        type: QueryTypes.INSERT,
        transaction: tx,
      },
    );
  }

  async markReleased(tx: Transaction, orderId: string): Promise<void> {
    await this.sequelize.query(
      `UPDATE reservations SET status = 'released', released_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3) WHERE order_id = ?`,
      { replacements: [orderId], type: QueryTypes.UPDATE, transaction: tx },
    );
  }

  /**
   * Order ids of reservations still holding stock that were made before `createdBefore`, in id order after
   * `afterOrderId` (a page of the order service's orphan sweep).
   */
  async heldSince(createdBefore: Date, afterOrderId: string, limit: number): Promise<Array<{ orderId: string; createdAt: Date }>> {
    const rows = await this.sequelize.query<{ order_id: string; created_at: Date }>(
      `SELECT order_id, created_at FROM reservations
       WHERE status = 'reserved' AND created_at < ? AND order_id > ?
       ORDER BY order_id LIMIT ?`,
      { replacements: [createdBefore, afterOrderId, limit], type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({ orderId: r.order_id, createdAt: r.created_at }));
  }

  /** The reservation with its lines in product id order. */
  async find(orderId: string, tx?: Transaction, lock: ReadLock = 'none'): Promise<Reservation | undefined> {
    const [row] = await this.sequelize.query<ReservationRow>(
      `SELECT order_id, status, created_at, updated_at, released_at FROM reservations WHERE order_id = ?${LOCK_CLAUSE[lock]}`,
      { replacements: [orderId], type: QueryTypes.SELECT, transaction: tx },
    );
    if (!row) return undefined;
    const items = await this.sequelize.query<ItemRow>(
      'SELECT product_id, name, quantity, unit_price FROM reservation_items WHERE order_id = ? ORDER BY product_id',
      { replacements: [orderId], type: QueryTypes.SELECT, transaction: tx },
    );
    return {
      orderId: row.order_id,
      status: row.status,
      items: items.map((i) => ({
        productId: Number(i.product_id),
        name: i.name,
        quantity: Number(i.quantity),
        unitPrice: i.unit_price,
      })),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      releasedAt: row.released_at,
    };
  }
}
