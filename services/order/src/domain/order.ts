import { centsToMoney, moneyToCents } from '@eshop/common';
import type { OrderStatus } from './order-status';

export type OrderMode = 'sync' | 'async';

/** One requested line: a product and how many units. */
export interface OrderLine {
  productId: number;
  quantity: number;
}

/** A line of a stored order; name and prices are captured when its stock is reserved (null before). */
export interface OrderItem extends OrderLine {
  name: string | null;
  unitPrice: string | null;
  lineTotal: string | null;
}

/** An order as the repository returns it. Money is a decimal string with two places. */
export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  mode: OrderMode;
  reason: string | null;
  /** Sum of the line totals; null until the prices are known (a pending async order). */
  total: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  items: OrderItem[];
}

/** A reserved line as the product service reports it: the price and name at reservation time. */
export interface ReservedItem {
  productId: number;
  name: string;
  quantity: number;
  unitPrice: string;
}

export interface PricedOrder {
  items: OrderItem[];
  total: string;
}

/**
 * Prices the requested lines with the reserved unit prices, in integer cents (never binary floats).
 * Keeps the request's line order; fails if the reservation does not cover exactly these lines.
 */
export function priceLines(lines: readonly OrderLine[], reserved: readonly ReservedItem[]): PricedOrder {
  const byProduct = new Map(reserved.map((r) => [r.productId, r]));
  let total = 0n;
  const items = lines.map((line) => {
    const item = byProduct.get(line.productId);
    if (!item || item.quantity !== line.quantity) {
      throw new Error(`reservation does not match order line product ${line.productId} x ${line.quantity}`);
    }
    const lineCents = moneyToCents(item.unitPrice) * BigInt(line.quantity);
    total += lineCents;
    return {
      productId: line.productId,
      quantity: line.quantity,
      name: item.name,
      unitPrice: centsToMoney(moneyToCents(item.unitPrice)),
      lineTotal: centsToMoney(lineCents),
    };
  });
  if (reserved.length !== lines.length) throw new Error('reservation has lines the order does not have');
  return { items, total: centsToMoney(total) };
}

/** The public JSON representation, shared by the HTTP API and the order.* events. */
export interface OrderRepresentation {
  id: string;
  user_id: string;
  status: OrderStatus;
  mode: OrderMode;
  reason: string | null;
  total: string | null;
  items: Array<{ product_id: number; quantity: number; name: string | null; unit_price: string | null; line_total: string | null }>;
  version: number;
  created_at: string;
  updated_at: string;
}

export function orderRepresentation(order: Order): OrderRepresentation {
  return {
    id: order.id,
    user_id: order.userId,
    status: order.status,
    mode: order.mode,
    reason: order.reason,
    total: order.total,
    items: order.items.map((i) => ({
      product_id: i.productId,
      quantity: i.quantity,
      name: i.name,
      unit_price: i.unitPrice,
      line_total: i.lineTotal,
    })),
    version: order.version,
    created_at: order.createdAt.toISOString(),
    updated_at: order.updatedAt.toISOString(),
  };
}

export function orderLocation(id: string): string {
  return `/orders/${id}`;
}
