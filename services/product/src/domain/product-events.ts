import type { OutboxEvent } from '@eshop/common';
import { productRepresentation, type DeletedProduct, type Product, type ProductRepresentation } from './product';

/** Event types on KAFKA_PRODUCT_TOPIC; each is keyed by product id, so one product's events stay in order. */
export const ProductEventType = {
  created: 'product.created',
  updated: 'product.updated',
  deleted: 'product.deleted',
  stockReserved: 'product.stock_reserved',
  stockReleased: 'product.stock_released',
} as const;

export type ProductEventTypeName = (typeof ProductEventType)[keyof typeof ProductEventType];

/** `data` of product.created / product.updated: the product after the change. */
export type ProductChangedData = ProductRepresentation;

/** `data` of product.deleted: the product as deleted (its last version), with the deletion time. */
export type ProductDeletedData = ProductRepresentation & { deleted_at: string };

/** `data` of product.stock_reserved / product.stock_released: one order line, and the stock after it. */
export interface StockMovementData {
  product_id: number;
  order_id: string;
  quantity: number;
  stock: number;
}

const SCHEMA_VERSION = 1;

export function productCreated(topic: string, product: Product): OutboxEvent<ProductChangedData> {
  return { topic, key: String(product.id), type: ProductEventType.created, version: SCHEMA_VERSION, data: productRepresentation(product) };
}

export function productUpdated(topic: string, product: Product): OutboxEvent<ProductChangedData> {
  return { topic, key: String(product.id), type: ProductEventType.updated, version: SCHEMA_VERSION, data: productRepresentation(product) };
}

export function productDeleted(topic: string, product: DeletedProduct): OutboxEvent<ProductDeletedData> {
  return {
    topic,
    key: String(product.id),
    type: ProductEventType.deleted,
    version: SCHEMA_VERSION,
    data: { ...productRepresentation(product), deleted_at: product.deletedAt.toISOString() },
  };
}

export function stockMoved(
  topic: string,
  type: typeof ProductEventType.stockReserved | typeof ProductEventType.stockReleased,
  movement: { productId: number; orderId: string; quantity: number; stockAfter: number },
): OutboxEvent<StockMovementData> {
  return {
    topic,
    key: String(movement.productId),
    type,
    version: SCHEMA_VERSION,
    data: {
      product_id: movement.productId,
      order_id: movement.orderId,
      quantity: movement.quantity,
      stock: movement.stockAfter,
    },
  };
}
