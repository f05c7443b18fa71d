import type { Migration } from '@eshop/common';

/**
 * Stock reservations, one per order id (the primary key makes concurrent duplicates serialise on
 * the insert). A `released` row without items is a tombstone: the order was compensated before its
 * reservation arrived, and a late reserve must not resurrect it. Order ids compare case-sensitively.
 */
export const createReservations: Migration = {
  name: '0002-create-reservations',
  up: async ({ context }) => {
    await context.sequelize.query(`
      CREATE TABLE reservations (
        order_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        status ENUM('reserved', 'released') NOT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        released_at DATETIME(3) NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await context.sequelize.query(`
      CREATE TABLE reservation_items (
        order_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        product_id BIGINT UNSIGNED NOT NULL,
        quantity INT UNSIGNED NOT NULL,
        unit_price DECIMAL(12,2) NOT NULL,
        name VARCHAR(200) NOT NULL,
        PRIMARY KEY (order_id, product_id),
        KEY reservation_items_product (product_id),
        CONSTRAINT reservation_items_reservation FOREIGN KEY (order_id) REFERENCES reservations (order_id),
        CONSTRAINT reservation_items_product FOREIGN KEY (product_id) REFERENCES products (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  },
  down: async ({ context }) => {
    await context.sequelize.query('DROP TABLE IF EXISTS reservation_items');
    await context.sequelize.query('DROP TABLE IF EXISTS reservations');
  },
};
