import { addToContext, PoisonMessageError, type EventEnvelope, type EventHandler } from '@eshop/common';
import type { z } from 'zod';
import type { OrderDependencies } from '../domain/dependencies';
import { orderPlacedData, orderReferenceData, OrderEventType } from '../domain/order-events';
import { settlePendingOrder } from '../domain/process-order-placed';

const SUPPORTED_VERSION = 1;

/** Validates an event's data; anything else can never succeed, so it is poison (→ dead-letter topic). */
function dataOf<S extends z.ZodType>(schema: S, event: EventEnvelope): z.output<S> {
  if (event.version !== SUPPORTED_VERSION) {
    throw new PoisonMessageError(`${event.type} version ${event.version} is not supported (expected ${SUPPORTED_VERSION})`);
  }
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'} ${i.message}`).join('; ');
    throw new PoisonMessageError(`${event.type} ${event.id} has invalid data: ${issues}`);
  }
  return parsed.data;
}

/**
 * The order consumers' handler for KAFKA_ORDER_TOPIC. Every branch is idempotent, because delivery is
 * at least once: order.placed settles a pending order (a redelivery finds it decided and does nothing);
 * order.cancelled and order.rejected release the order's reservation (a second release is a no-op; a
 * release before any reservation leaves a tombstone that refuses a late one). Product-service and
 * database outages are retried with backoff until they end (never skipped); a PoisonMessageError goes
 * to the dead-letter topic at once, any other error after a few attempts (see consumer-service.ts).
 */
export function orderEventsHandler(deps: OrderDependencies): EventHandler<EventEnvelope> {
  return async (event) => {
    switch (event.type) {
      case OrderEventType.placed: {
        const data = dataOf(orderPlacedData, event);
        addToContext({ orderId: data.order_id });
        const result = await settlePendingOrder(deps, data.order_id);
        // The outbox publishes order.placed only after the order committed, so a missing order means the
        // event does not belong to this database (a stray or hand-made message).
        if (result.kind === 'not_found') throw new PoisonMessageError(`order ${data.order_id} of ${event.type} ${event.id} does not exist`);
        deps.logger.debug({ result: result.kind, status: result.order.status }, 'order.placed handled');
        return;
      }
      case OrderEventType.cancelled:
      case OrderEventType.rejected: {
        const data = dataOf(orderReferenceData, event);
        addToContext({ orderId: data.order_id });
        await deps.inventory.release(data.order_id);
        deps.logger.debug({ eventType: event.type }, 'reservation released');
        return;
      }
      default:
        return; // other order events are for other subscribers
    }
  };
}
