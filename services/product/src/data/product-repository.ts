import { QueryTypes, type Sequelize } from '@eshop/common';
import type { DeletedProduct, NewProduct, Product, ProductChanges, ProductFilter } from '../domain/product';
import type { Transaction } from './transactions';

interface ProductRow {
  id: number | string;
  name: string;
  description: string;
  price: string;
  stock: number;
  version: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const COLUMNS = 'id, name, description, price, stock, version, created_at, updated_at, deleted_at';

function toProduct(row: ProductRow): Product {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    price: row.price,
    stock: Number(row.stock),
    version: Number(row.version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `!` escapes LIKE wildcards, so a search for `50%` matches the text, not everything starting with 50. */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** Version guard for conditional writes (`AND version IN (…)`), empty when the caller has none. */
function versionGuard(versions: readonly number[] | undefined): { sql: string; values: number[] } {
  if (!versions) return { sql: '', values: [] };
  return { sql: ` AND version IN (${versions.map(() => '?').join(', ')})`, values: [...versions] };
}

/** Where a product is, to explain why a conditional write touched nothing. */
export interface ProductState {
  version: number;
  stock: number;
  deleted: boolean;
}

/** Products table access; every write is a single guarded statement, never read-then-write. */
export class ProductRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async insert(tx: Transaction, product: NewProduct): Promise<Product> {
    const [id] = await this.sequelize.query(
      `INSERT INTO products (name, description, price, stock, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
      { replacements: [product.name, product.description, product.price, product.stock], type: QueryTypes.INSERT, transaction: tx },
    );
    const created = await this.findById(Number(id), tx);
    if (!created) throw new Error(`inserted product ${String(id)} is not readable in its own transaction`);
    return created;
  }

  /** A product that is not deleted. */
  async findById(id: number, tx?: Transaction): Promise<Product | undefined> {
    const [row] = await this.sequelize.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = ? AND deleted_at IS NULL`, {
      replacements: [id],
      type: QueryTypes.SELECT,
      transaction: tx,
    });
    return row ? toProduct(row) : undefined;
  }

  /** Products by id, deleted ones included (reservations and releases still name them). */
  async findManyIncludingDeleted(tx: Transaction, ids: readonly number[]): Promise<Map<number, Product>> {
    if (ids.length === 0) return new Map();
    const rows = await this.sequelize.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id IN (?)`, {
      replacements: [ids],
      type: QueryTypes.SELECT,
      transaction: tx,
    });
    return new Map(rows.map((r) => [Number(r.id), toProduct(r)]));
  }

  async findDeleted(tx: Transaction, id: number): Promise<DeletedProduct | undefined> {
    const [row] = await this.sequelize.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = ? AND deleted_at IS NOT NULL`, {
      replacements: [id],
      type: QueryTypes.SELECT,
      transaction: tx,
    });
    return row?.deleted_at ? { ...toProduct(row), deletedAt: row.deleted_at } : undefined;
  }

  /** Latest committed state, to explain a guarded write that matched no row. */
  async state(tx: Transaction, id: number): Promise<ProductState | undefined> {
    const [row] = await this.sequelize.query<Pick<ProductRow, 'version' | 'stock' | 'deleted_at'>>(
      'SELECT version, stock, deleted_at FROM products WHERE id = ?',
      { replacements: [id], type: QueryTypes.SELECT, transaction: tx },
    );
    return row ? { version: Number(row.version), stock: Number(row.stock), deleted: row.deleted_at !== null } : undefined;
  }

  /** One page in id order, `limit + 1` rows so the caller knows whether another page follows. */
  async list(filter: ProductFilter): Promise<Product[]> {
    const where = ['deleted_at IS NULL'];
    const values: unknown[] = [];
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      values.push(filter.afterId);
    }
    if (filter.nameContains) {
      // utf8mb4_unicode_ci (the table's collation) makes LIKE case-insensitive.
      where.push(`name LIKE ? ESCAPE '!'`);
      values.push(likeContains(filter.nameContains));
    }
    // CAST keeps the comparison in DECIMAL; a string operand would make MariaDB compare as doubles.
    if (filter.minPrice !== undefined) {
      where.push('price >= CAST(? AS DECIMAL(12,2))');
      values.push(filter.minPrice);
    }
    if (filter.maxPrice !== undefined) {
      where.push('price <= CAST(? AS DECIMAL(12,2))');
      values.push(filter.maxPrice);
    }
    values.push(filter.limit + 1);
    const rows = await this.sequelize.query<ProductRow>(
      `SELECT ${COLUMNS} FROM products WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
      { replacements: values, type: QueryTypes.SELECT },
    );
    return rows.map(toProduct);
  }

  /** Applies changes if the product exists (and has one of `versions`, when given); false when nothing matched. */
  async update(tx: Transaction, id: number, changes: ProductChanges, versions?: readonly number[]): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const column of ['name', 'description', 'price', 'stock'] as const) {
      if (changes[column] !== undefined) {
        sets.push(`${column} = ?`);
        values.push(changes[column]);
      }
    }
    const guard = versionGuard(versions);
    const [, affected] = await this.sequelize.query(
      `UPDATE products SET ${[...sets, 'version = version + 1', 'updated_at = UTC_TIMESTAMP(3)'].join(', ')}
       WHERE id = ? AND deleted_at IS NULL${guard.sql}`,
      { replacements: [...values, id, ...guard.values], type: QueryTypes.UPDATE, transaction: tx },
    );
    return Number(affected) === 1;
  }

  /** Soft delete; false when the product does not exist, is already deleted, or has another version. */
  async softDelete(tx: Transaction, id: number, versions?: readonly number[]): Promise<boolean> {
    const guard = versionGuard(versions);
    const [, affected] = await this.sequelize.query(
      `UPDATE products SET deleted_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3), version = version + 1
       WHERE id = ? AND deleted_at IS NULL${guard.sql}`,
      { replacements: [id, ...guard.values], type: QueryTypes.UPDATE, transaction: tx },
    );
    return Number(affected) === 1;
  }

  /** Takes `quantity` units if the product is available and has enough; false otherwise (nothing changed). */
  async takeStock(tx: Transaction, id: number, quantity: number): Promise<boolean> {
    const [, affected] = await this.sequelize.query(
      `UPDATE products SET stock = stock - ?, version = version + 1, updated_at = UTC_TIMESTAMP(3)
       WHERE id = ? AND deleted_at IS NULL AND stock >= ?`,
      { replacements: [quantity, id, quantity], type: QueryTypes.UPDATE, transaction: tx },
    );
    return Number(affected) === 1;
  }

  /** Puts units back, also on a product deleted since, so stock figures stay consistent. */
  async returnStock(tx: Transaction, id: number, quantity: number): Promise<void> {
    const [, affected] = await this.sequelize.query(
      `UPDATE products SET stock = stock + ?, version = version + 1, updated_at = UTC_TIMESTAMP(3) WHERE id = ?`,
      { replacements: [quantity, id], type: QueryTypes.UPDATE, transaction: tx },
    );
    if (Number(affected) !== 1) throw new Error(`product ${id} of a reservation no longer exists`);
  }
}
