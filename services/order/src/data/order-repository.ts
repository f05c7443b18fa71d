import { QueryTypes, type Sequelize } from '@eshop/common';
import type { Order, OrderItem, OrderMode } from '../domain/order';
import type { OrderStatus } from '../domain/order-status';
import type { Transaction } from './transactions';

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  mode: OrderMode;
  reason: string | null;
  total: string | null;
  version: number | string;
  created_at: Date;
  updated_at: Date;
}

interface ItemRow {
  order_id: string;
  product_id: number | string;
  quantity: number | string;
  name: string | null;
  unit_price: string | null;
  line_total: string | null;
}

/** Keyset page query; ids are UUIDv7, so descending id order is newest first. */
export interface OrderFilter {
  userId?: string;
  status?: OrderStatus;
  /** Only orders with an id lower than this (the last id of the previous page). */
  beforeId?: string;
  limit: number;
}

export interface OrderPage {
  items: Order[];
  /** Set when more orders follow: the id to continue before. */
  nextBeforeId?: string;
}

/** Changes a status update may carry besides the status itself. */
export interface StatusChange {
  reason?: string | null;
  /** Prices captured at reservation: sets total and every line's name, unit_price and line_total. */
  priced?: { items: readonly OrderItem[]; total: string };
}

const COLUMNS = 'id, user_id, status, mode, reason, total, version, created_at, updated_at';

/** Orders and their lines; plain records in, plain records out. */
export class OrderRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async insert(tx: Transaction, order: Order): Promise<void> {
    await this.sequelize.query(
      `INSERT INTO orders (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [order.id, order.userId, order.status, order.mode, order.reason, order.total, order.version, sqlTime(order.createdAt), sqlTime(order.updatedAt)],
        type: QueryTypes.INSERT,
        transaction: tx,
      },
    );
    await this.sequelize.query(
      `INSERT INTO order_items (order_id, position, product_id, quantity, name, unit_price, line_total) VALUES ${order.items
        .map(() => '(?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      {
        replacements: order.items.flatMap((i, position) => [order.id, position, i.productId, i.quantity, i.name, i.unitPrice, i.lineTotal]),
        type: QueryTypes.INSERT,
        transaction: tx,
      },
    );
  }

  /**
   * Moves the order from `from` to `to` only if it is still in `from` (a conditional update, so of
   * two concurrent transitions exactly one wins). Returns false when the order was no longer in `from`.
   */
  async transition(tx: Transaction, id: string, from: OrderStatus, to: OrderStatus, change: StatusChange = {}): Promise<boolean> {
    const sets = ['status = ?', 'version = version + 1', 'updated_at = ?'];
    const values: unknown[] = [to, sqlTime(new Date())];
    if (change.reason !== undefined) {
      sets.push('reason = ?');
      values.push(change.reason);
    }
    if (change.priced) {
      sets.push('total = ?');
      values.push(change.priced.total);
    }
    const [, affected] = await this.sequelize.query(`UPDATE orders SET ${sets.join(', ')} WHERE id = ? AND status = ?`, {
      replacements: [...values, id, from],
      type: QueryTypes.UPDATE,
      transaction: tx,
    });
    if (Number(affected) !== 1) return false;
    for (const item of change.priced?.items ?? []) {
      await this.sequelize.query(
        'UPDATE order_items SET name = ?, unit_price = ?, line_total = ? WHERE order_id = ? AND product_id = ?',
        { replacements: [item.name, item.unitPrice, item.lineTotal, id, item.productId], type: QueryTypes.UPDATE, transaction: tx },
      );
    }
    return true;
  }

  /** The order with its lines in request order; inside a transaction the read sees that transaction's writes. */
  async find(id: string, tx?: Transaction): Promise<Order | undefined> {
    const [row] = await this.sequelize.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = ?`, {
      replacements: [id],
      type: QueryTypes.SELECT,
      transaction: tx,
    });
    if (!row) return undefined;
    const items = await this.itemsOf([id], tx);
    return toOrder(row, items.get(id) ?? []);
  }

  async list(filter: OrderFilter): Promise<OrderPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.userId !== undefined) {
      where.push('user_id = ?');
      values.push(filter.userId);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      values.push(filter.status);
    }
    if (filter.beforeId !== undefined) {
      where.push('id < ?');
      values.push(filter.beforeId);
    }
    // One row more than asked tells whether another page follows.
    const rows = await this.sequelize.query<OrderRow>(
      `SELECT ${COLUMNS} FROM orders ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      { replacements: [...values, filter.limit + 1], type: QueryTypes.SELECT },
    );
    const page = rows.slice(0, filter.limit);
    const items = await this.itemsOf(page.map((r) => r.id));
    return {
      items: page.map((row) => toOrder(row, items.get(row.id) ?? [])),
      nextBeforeId: rows.length > filter.limit ? page[page.length - 1]?.id : undefined,
    };
  }

  private async itemsOf(ids: readonly string[], tx?: Transaction): Promise<Map<string, OrderItem[]>> {
    const byOrder = new Map<string, OrderItem[]>();
    if (ids.length === 0) return byOrder;
    const rows = await this.sequelize.query<ItemRow>(
      'SELECT order_id, product_id, quantity, name, unit_price, line_total FROM order_items WHERE order_id IN (?) ORDER BY order_id, position',
      { replacements: [ids], type: QueryTypes.SELECT, transaction: tx },
    );
    for (const row of rows) {
      const items = byOrder.get(row.order_id) ?? [];
      items.push({
        productId: Number(row.product_id),
        quantity: Number(row.quantity),
        name: row.name,
        unitPrice: row.unit_price,
        lineTotal: row.line_total,
      });
      byOrder.set(row.order_id, items);
    }
    return byOrder;
  }
}

/** DATETIME(3) literal in UTC (the connection's time zone); Sequelize would drop the milliseconds of a Date. */
function sqlTime(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

function toOrder(row: OrderRow, items: OrderItem[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    mode: row.mode,
    reason: row.reason,
    total: row.total,
    version: Number(row.version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    items,
  };
}
