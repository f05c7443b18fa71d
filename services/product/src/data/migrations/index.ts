import { outboxMigration, type Migration } from '@eshop/common';
import { createProducts } from './0001-create-products';
import { createReservations } from './0002-create-reservations';
import { indexHeldReservations } from './0003-index-held-reservations';

/** Every migration of the product database, in the order they apply. */
export const productMigrations: Migration[] = [outboxMigration(), createProducts, createReservations, indexHeldReservations];
