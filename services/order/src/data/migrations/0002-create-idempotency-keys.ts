import type { Migration } from '@eshop/common';

/**
 * Idempotency-Key records, one per (endpoint scope, key). The order id is allocated and stored before
 * the product service is called, so a retry after a crash resumes that same order id and the
 * reservation (idempotent by order id) is never taken twice. A completed row stores the response.
 */
export const createIdempotencyKeys: Migration = {
  name: '0002-create-idempotency-keys',
  up: async ({ context }) => {
    await context.sequelize.query(`
      CREATE TABLE idempotency_keys (
        scope VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        idempotency_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        request_hash CHAR(64) CHARACTER SET ascii NOT NULL,
        order_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        state ENUM('in_progress', 'completed') NOT NULL,
        locked_until DATETIME(3) NULL,
        response_status SMALLINT UNSIGNED NULL,
        response_body MEDIUMTEXT NULL,
        created_at DATETIME(3) NOT NULL,
        updated_at DATETIME(3) NOT NULL,
        PRIMARY KEY (scope, idempotency_key),
        KEY idempotency_keys_created (created_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  },
  down: async ({ context }) => {
    await context.sequelize.query('DROP TABLE IF EXISTS idempotency_keys');
  },
};
