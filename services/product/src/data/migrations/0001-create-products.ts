import type { Migration } from '@eshop/common';

/**
 * Products with an optimistic-concurrency `version` and a soft delete: reservations keep pointing at
 * a deleted product, and its id is never reused. The CHECK makes negative stock impossible even if a
 * code path forgot the `stock >= ?` guard.
 */
export const createProducts: Migration = {
  name: '0001-create-products',
  up: async ({ context }) => {
    await context.sequelize.query(`
      CREATE TABLE products (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        description VARCHAR(2000) NOT NULL DEFAULT '',
        price DECIMAL(12,2) NOT NULL,
        stock INT NOT NULL,
        version INT UNSIGNED NOT NULL DEFAULT 1,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        deleted_at DATETIME(3) NULL,
        CONSTRAINT products_price_non_negative CHECK (price >= 0),
        CONSTRAINT products_stock_non_negative CHECK (stock >= 0),
        KEY products_price (price)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  },
  down: async ({ context }) => {
    await context.sequelize.query('DROP TABLE IF EXISTS products');
  },
};
