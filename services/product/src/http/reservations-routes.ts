import { addToContext, validate } from '@eshop/common';
import { Router } from 'express';
import { findReservation, type InventoryDependencies } from '../domain/inventory';
import { releaseStock } from '../domain/release-stock';
import { reservationRepresentation } from '../domain/reservation';
import { reserveStock } from '../domain/reserve-stock';
import { heldReservationsQuery, orderIdParams, reserveBody } from './schemas';

/** The internal inventory API for the order service, mounted at /internal/reservations (not routed by the gateway). */
export function reservationsRoutes(inventory: InventoryDependencies): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const body = validate(reserveBody, req.body);
    addToContext({ orderId: body.order_id });
    const { reservation, created } = await reserveStock(inventory, {
      orderId: body.order_id,
      items: body.items.map((i) => ({ productId: i.product_id, quantity: i.quantity })),
    });
    if (created) res.status(201).location(`${req.baseUrl}/${reservation.orderId}`);
    res.json(reservationRepresentation(reservation));
  });

  router.get('/', async (req, res) => {
    const query = validate(heldReservationsQuery, { ...req.query }, 'query');
    const held = await inventory.reservations.heldSince(query.created_before, query.after, query.limit);
    res.json({
      items: held.map((r) => ({ order_id: r.orderId, created_at: r.createdAt.toISOString() })),
      next_after: held.length === query.limit ? held[held.length - 1]!.orderId : null,
    });
  });

  router.get('/:orderId', async (req, res) => {
    const { orderId } = validate(orderIdParams, req.params, 'path');
    addToContext({ orderId });
    const reservation = await findReservation(inventory, orderId);
    res.json(reservationRepresentation(reservation));
  });

  router.post('/:orderId/release', async (req, res) => {
    const { orderId } = validate(orderIdParams, req.params, 'path');
    addToContext({ orderId });
    const reservation = await releaseStock(inventory, orderId);
    res.json(reservationRepresentation(reservation));
  });

  return router;
}
