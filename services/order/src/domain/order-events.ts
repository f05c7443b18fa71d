import type { OutboxEvent } from '@eshop/common';
import { z } from 'zod';
import type { Order } from './order';
import type { OrderStatus } from './order-status';

/** Event types on KAFKA_ORDER_TOPIC; every event is keyed by order id, so one order's events stay in order. */
export const OrderEventType = {
  placed: 'order.placed',
  confirmed: 'order.confirmed',
  rejected: 'order.rejected',
  paid: 'order.paid',
  shipped: 'order.shipped',
  delivered: 'order.delivered',
  cancelled: 'order.cancelled',
} as const;

const SCHEMA_VERSION = 1;

const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `data` of order.placed (v1): what the consumers need to reserve stock. */
export const orderPlacedData = z.object({
  order_id: z.string().regex(ORDER_ID),
  user_id: z.string().min(1).max(64),
  mode: z.literal('async'),
  items: z
    .array(z.object({ product_id: z.number().int().positive(), quantity: z.number().int().positive() }))
    .min(1)
    .max(100),
});
export type OrderPlacedData = z.infer<typeof orderPlacedData>;

/** The part of every status event the consumers read (order.cancelled, order.rejected). */
export const orderReferenceData = z.object({ order_id: z.string().regex(ORDER_ID) });

/** `data` of every status event (v1): the order after the change and the status it came from. */
export interface OrderStatusChangedData {
  order_id: string;
  user_id: string;
  mode: Order['mode'];
  status: OrderStatus;
  /** null for a sync order, which is created confirmed. */
  previous_status: OrderStatus | null;
  reason: string | null;
  total: string | null;
  version: number;
  items: Array<{ product_id: number; quantity: number; name: string | null; unit_price: string | null; line_total: string | null }>;
}

export function orderPlaced(topic: string, order: Order): OutboxEvent<OrderPlacedData> {
  return {
    topic,
    key: order.id,
    type: OrderEventType.placed,
    version: SCHEMA_VERSION,
    data: {
      order_id: order.id,
      user_id: order.userId,
      mode: 'async',
      items: order.items.map((i) => ({ product_id: i.productId, quantity: i.quantity })),
    },
  };
}

/** order.<status> for an order that just reached `order.status`. */
export function orderStatusChanged(topic: string, order: Order, previous: OrderStatus | null): OutboxEvent<OrderStatusChangedData> {
  return {
    topic,
    key: order.id,
    type: `order.${order.status}`,
    version: SCHEMA_VERSION,
    data: {
      order_id: order.id,
      user_id: order.userId,
      mode: order.mode,
      status: order.status,
      previous_status: previous,
      reason: order.reason,
      total: order.total,
      version: order.version,
      items: order.items.map((i) => ({
        product_id: i.productId,
        quantity: i.quantity,
        name: i.name,
        unit_price: i.unitPrice,
        line_total: i.lineTotal,
      })),
    },
  };
}
