import type { Migration } from '@eshop/common';

/**
 * Orders and their lines. The id is a UUIDv7 string (time-ordered, so `ORDER BY id DESC` is newest
 * first and keyset pagination needs no second column). user_id is a string: seed data used integers,
 * the identity provider uses opaque ids. name, unit_price and line_total are captured when stock is
 * reserved, so they stay NULL while an async order is pending; so does the order total.
 */
export const createOrders: Migration = {
  name: '0001-create-orders',
  up: async ({ context }) => {
    await context.sequelize.query(`
      CREATE TABLE orders (
        id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        user_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        status ENUM('pending', 'confirmed', 'rejected', 'paid', 'shipped', 'delivered', 'cancelled') NOT NULL,
        mode ENUM('sync', 'async') NOT NULL,
        reason VARCHAR(255) NULL,
        total DECIMAL(14,2) NULL,
        version INT UNSIGNED NOT NULL DEFAULT 1,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        CONSTRAINT orders_total_non_negative CHECK (total IS NULL OR total >= 0),
        KEY orders_user (user_id, id),
        KEY orders_user_status (user_id, status, id),
        KEY orders_status (status, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await context.sequelize.query(`
      CREATE TABLE order_items (
        order_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        position SMALLINT UNSIGNED NOT NULL,
        product_id BIGINT UNSIGNED NOT NULL,
        quantity INT UNSIGNED NOT NULL,
        name VARCHAR(200) NULL,
        unit_price DECIMAL(12,2) NULL,
        line_total DECIMAL(14,2) NULL,
        PRIMARY KEY (order_id, position),
        UNIQUE KEY order_items_product (order_id, product_id),
        CONSTRAINT order_items_order FOREIGN KEY (order_id) REFERENCES orders (id),
        CONSTRAINT order_items_quantity_positive CHECK (quantity > 0)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  },
  down: async ({ context }) => {
    await context.sequelize.query('DROP TABLE IF EXISTS order_items');
    await context.sequelize.query('DROP TABLE IF EXISTS orders');
  },
};
