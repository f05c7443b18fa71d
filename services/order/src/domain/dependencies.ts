import type { Logger, Outbox } from '@eshop/common';
import type { Inventory } from '../clients/product-client';
import type { IdempotencyRepository } from '../data/idempotency-repository';
import type { OrderRepository } from '../data/order-repository';
import type { Transact } from '../data/transactions';
import type { Compensations } from './compensations';
import type { OrderMetrics } from './order-metrics';

/** What the order use cases work with; both processes build one (the consumer without HTTP concerns). */
export interface OrderDependencies {
  transact: Transact;
  orders: OrderRepository;
  idempotency: IdempotencyRepository;
  outbox: Pick<Outbox, 'enqueue'>;
  /** KAFKA_ORDER_TOPIC. */
  topic: string;
  inventory: Inventory;
  compensations: Compensations;
  metrics: OrderMetrics;
  logger: Logger;
  /** Retry-After (seconds) of 503 product_service_unavailable. */
  retryAfterSeconds: number;
  /** How long a sync request holds its Idempotency-Key before a retry may take it over. */
  idempotencyLeaseMs: number;
}
