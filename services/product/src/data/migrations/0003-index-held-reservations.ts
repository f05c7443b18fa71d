import type { Migration } from '@eshop/common';

/** Lets the order service's orphan sweep find old held reservations without scanning every reservation ever made. */
export const indexHeldReservations: Migration = {
  name: '0003-index-held-reservations',
  up: async ({ context }) => {
    await context.sequelize.query('CREATE INDEX reservations_status_created ON reservations (status, created_at, order_id)');
  },
  down: async ({ context }) => {
    await context.sequelize.query('DROP INDEX reservations_status_created ON reservations');
  },
};
