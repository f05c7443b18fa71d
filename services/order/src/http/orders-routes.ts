import { AppError, decodeCursor, encodeCursor, PROBLEM_CONTENT_TYPE, requireIdentity, validate } from '@eshop/common';
import { Router, type Request, type Response } from 'express';
import { acceptAsyncOrder } from '../domain/accept-async-order';
import { changeStatus } from '../domain/change-status';
import type { OrderDependencies } from '../domain/dependencies';
import { requestHash, type IdempotencyKey, type IdempotencyScope } from '../domain/idempotency';
import { orderLocation, orderRepresentation } from '../domain/order';
import { assertMayPlaceFor, assertMayRead, listedUser } from '../domain/order-access';
import { placeOrder, type PlaceOrderRequest, type PlaceOrderResult } from '../domain/place-order';
import {
  cursorBefore,
  idempotencyKeyHeader,
  listOrdersQuery,
  orderIdParams,
  placeOrderBody,
  statusChangeBody,
  type PlaceOrderBody,
} from './schemas';

function toRequest(body: PlaceOrderBody): PlaceOrderRequest {
  return { userId: body.user_id, lines: body.items.map((i) => ({ productId: i.product_id, quantity: i.quantity })) };
}

/** The Idempotency-Key of this request, scoped to the endpoint and fingerprinted with the normalised body. */
function idempotencyKeyOf(req: Request, scope: IdempotencyScope, body: PlaceOrderBody): IdempotencyKey | undefined {
  const key = idempotencyKeyHeader(req.headers);
  return key === undefined ? undefined : { scope, key, requestHash: requestHash(body) };
}

/** Sends a placed, accepted or replayed order response exactly as recorded. */
function send(res: Response, result: PlaceOrderResult): void {
  const { status, body } = result.response;
  if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
  if (status >= 400) {
    res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
    return;
  }
  const id = (body as { id?: string }).id;
  if (id) res.location(orderLocation(id));
  res.status(status).json(body);
}

/** Link to the next page: the same query with the new cursor. */
function nextLink(req: Request, cursor: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query)) {
    if (key !== 'cursor' && typeof value === 'string') params.set(key, value);
  }
  params.set('cursor', cursor);
  return `${req.baseUrl}?${params.toString()}`;
}

/** The public order API, mounted at /orders. */
export function ordersRoutes(deps: OrderDependencies): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const actor = requireIdentity(req);
    const body = validate(placeOrderBody, req.body);
    assertMayPlaceFor(actor, body.user_id);
    send(res, await placeOrder(deps, toRequest(body), idempotencyKeyOf(req, 'POST /orders', body)));
  });

  router.post('/async', async (req, res) => {
    const actor = requireIdentity(req);
    const body = validate(placeOrderBody, req.body);
    assertMayPlaceFor(actor, body.user_id);
    send(res, await acceptAsyncOrder(deps, toRequest(body), idempotencyKeyOf(req, 'POST /orders/async', body)));
  });

  router.get('/', async (req, res) => {
    const actor = requireIdentity(req);
    const query = validate(listOrdersQuery, { ...req.query }, 'query');
    const page = await deps.orders.list({
      userId: listedUser(actor, query.user_id),
      status: query.status,
      limit: query.limit,
      beforeId: query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorBefore),
    });
    const nextCursor = page.nextBeforeId === undefined ? null : encodeCursor({ before: page.nextBeforeId });
    if (nextCursor) res.setHeader('Link', `<${nextLink(req, nextCursor)}>; rel="next"`);
    res.json({ items: page.items.map(orderRepresentation), next_cursor: nextCursor });
  });

  router.get('/:id', async (req, res) => {
    const actor = requireIdentity(req);
    const { id } = validate(orderIdParams, req.params, 'path');
    const order = await deps.orders.find(id);
    if (!order) throw AppError.notFound('order', id);
    assertMayRead(actor, order);
    res.json(orderRepresentation(order));
  });

  router.put('/:id/status', async (req, res) => {
    const actor = requireIdentity(req);
    const { id } = validate(orderIdParams, req.params, 'path');
    const body = validate(statusChangeBody, req.body);
    const order = await changeStatus(deps, id, body, actor);
    res.json(orderRepresentation(order));
  });

  return router;
}
