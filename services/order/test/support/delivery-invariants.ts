/**
 * What must hold after any fault once the order stream has drained: every accepted order (async 202 or
 * sync 201) decided exactly once, exactly the stock's worth confirmed, stock = initial − confirmed
 * quantities, one reservation per confirmed order and none for a rejected one, nothing pending, nothing
 * left in the outbox, and one decision event per order. Failures print one diff of everything that is off.
 */
import { eventually, MessageCollector, type CollectedMessage, type TestDatabase } from '@eshop/test-support';
import type { Kafka } from 'kafkajs';
import type { AcceptedOrder } from './order-load';
import type { TestProductService } from './product-service';

export interface StockedProduct {
  productId: number;
  initialStock: number;
  /** The quantity of every order line for this product (one kind per product keeps the expected count exact). */
  quantity: number;
}

export interface StackUnderTest {
  db: TestDatabase;
  product: TestProductService;
}

/**
 * Every order event and product event published so far, read once the product service's outbox is empty
 * (its relay may still have been sending). The collectors go to `collectors` so the test's afterAll stops them.
 */
export async function publishedEvents(
  s: StackUnderTest & { kafka: Kafka; topic: string },
  collectors: MessageCollector[],
): Promise<{ orderEvents: CollectedMessage[]; productEvents: CollectedMessage[] }> {
  const [orderEvents, productEvents] = [new MessageCollector(s.topic, s.kafka), new MessageCollector(s.product.topic)];
  collectors.push(orderEvents, productEvents);
  await Promise.all([orderEvents.start(), productEvents.start()]);
  await orderEvents.waitFor(await messagesIn(s.kafka, s.topic), 30_000);
  await eventually(async () => {
    const [outbox] = await s.product.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
    expect(Number(outbox?.n)).toBe(0);
  }, 30_000, 100);
  await productEvents.waitFor(await messagesIn(s.kafka, s.product.topic), 30_000);
  return { orderEvents: orderEvents.messages, productEvents: productEvents.messages };
}

/** How many orders must be confirmed: per product, as many as its stock covers, at most all of them. */
export function expectedConfirmed(accepted: readonly AcceptedOrder[], products: readonly StockedProduct[]): number {
  return products.reduce((sum, p) => {
    const orders = accepted.filter((o) => o.productId === p.productId).length;
    return sum + Math.min(orders, Math.floor(p.initialStock / p.quantity));
  }, 0);
}

/**
 * Waits until the consumers have decided every order (none pending, up to a minute after the fault), then until
 * the invariants hold (the outbox's last events may still be publishing); returns the final statuses.
 */
export async function expectDrainedDeliveryInvariants(
  stack: StackUnderTest,
  accepted: readonly AcceptedOrder[],
  products: readonly StockedProduct[],
): Promise<Map<string, string>> {
  await eventually(
    async () => {
      const [left] = await stack.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM orders WHERE status = 'pending'`);
      expect(Number(left?.n)).toBe(0);
    },
    60_000,
    250,
  );
  return eventually(() => expectDeliveryInvariants(stack, accepted, products), 10_000, 250);
}

/** Checks every invariant against both databases; returns the final status of each accepted order. */
export async function expectDeliveryInvariants(
  stack: StackUnderTest,
  accepted: readonly AcceptedOrder[],
  products: readonly StockedProduct[],
): Promise<Map<string, string>> {
  const orders = await stack.db.query<{ id: string; status: string; product_id: number; quantity: number }>(
    'SELECT o.id, o.status, i.product_id, i.quantity FROM orders o LEFT JOIN order_items i ON i.order_id = o.id',
  );
  const statuses = new Map(orders.map((o) => [o.id, o.status]));
  const acceptedIds = new Set(accepted.map((o) => o.id));
  const confirmed = orders.filter((o) => o.status === 'confirmed');
  const [outbox] = await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');

  const reservations = await stack.product.db.query<{ order_id: string; status: string; product_id: number | null; quantity: number | null }>(
    `SELECT r.order_id, r.status, i.product_id, i.quantity
       FROM reservations r LEFT JOIN reservation_items i ON i.order_id = r.order_id
      WHERE r.order_id IN (?)`,
    [accepted.length > 0 ? accepted.map((o) => o.id) : ['-']],
  );
  const reservedLines = reservations.filter((r) => r.status === 'reserved');
  const reservedIds = reservedLines.map((r) => r.order_id);
  const ordered = new Map(orders.map((o) => [`${o.id}/${o.product_id}`, Number(o.quantity)]));

  const stockNow = new Map<number, number>();
  for (const p of products) stockNow.set(p.productId, await stack.product.stockOf(p.productId));

  const actual = {
    lostOrders: accepted.filter((o) => !statuses.has(o.id)).map((o) => o.id),
    ordersNobodyAccepted: [...statuses.keys()].filter((id) => !acceptedIds.has(id)),
    ordersWithoutLines: orders.filter((o) => o.product_id === null).map((o) => o.id),
    undecided: orders.filter((o) => o.status !== 'confirmed' && o.status !== 'rejected').map((o) => `${o.id}: ${o.status}`),
    confirmed: confirmed.length,
    stock: Object.fromEntries(products.map((p) => [p.productId, stockNow.get(p.productId)])),
    reservedTwice: reservedIds.filter((id, i) => reservedIds.indexOf(id) !== i),
    confirmedWithoutReservation: confirmed.filter((o) => !reservedIds.includes(o.id)).map((o) => o.id),
    reservedButNotConfirmed: reservedIds.filter((id) => statuses.get(id) !== 'confirmed'),
    reservedOtherQuantity: reservedLines
      .filter((r) => ordered.get(`${r.order_id}/${r.product_id}`) !== Number(r.quantity))
      .map((r) => `${r.order_id}: product ${r.product_id} × ${r.quantity}`),
    outboxLeft: Number(outbox?.n),
  };
  expect(actual).toEqual({
    lostOrders: [],
    ordersNobodyAccepted: [],
    ordersWithoutLines: [],
    undecided: [],
    confirmed: expectedConfirmed(accepted, products),
    // Stock is what the confirmed orders' lines left: a double reservation would take more.
    stock: Object.fromEntries(
      products.map((p) => [
        p.productId,
        p.initialStock - confirmed.filter((o) => Number(o.product_id) === p.productId).reduce((n, o) => n + Number(o.quantity), 0),
      ]),
    ),
    reservedTwice: [],
    confirmedWithoutReservation: [],
    reservedButNotConfirmed: [],
    reservedOtherQuantity: [],
    outboxLeft: 0,
  });
  return statuses;
}

const DECISIONS = new Set(['order.confirmed', 'order.rejected']);

/** order.confirmed / order.rejected messages per order id (the message key). */
export function decisionsByOrder(messages: readonly CollectedMessage[]): Map<string, CollectedMessage[]> {
  const byOrder = new Map<string, CollectedMessage[]>();
  for (const m of messages) {
    if (!DECISIONS.has(m.headers['event-type'] ?? '') || m.key === null) continue;
    byOrder.set(m.key, [...(byOrder.get(m.key) ?? []), m]);
  }
  return byOrder;
}

/**
 * Every order's decision was published once and matches its status. `republishAllowed`: the outbox may
 * re-send an event it could not confirm (same event id, at-least-once); two *different* decision events
 * for one order would mean it was decided twice, and that is never allowed.
 */
export function expectOneDecisionPerOrder(
  messages: readonly CollectedMessage[],
  statuses: ReadonlyMap<string, string>,
  options: { republishAllowed: boolean },
): void {
  const byOrder = decisionsByOrder(messages);
  const problems: string[] = [];
  for (const [orderId, status] of statuses) {
    const events = byOrder.get(orderId) ?? [];
    const ids = new Set(events.map((e) => e.headers['event-id']));
    const types = events.map((e) => e.headers['event-type']);
    if (events.length === 0) problems.push(`${orderId}: no decision event`);
    else if (ids.size > 1) problems.push(`${orderId}: decided ${ids.size} times (${types.join(', ')})`);
    else if (events.length > 1 && !options.republishAllowed) problems.push(`${orderId}: ${events.length} copies of one ${types[0]} event`);
    else if (types[0] !== `order.${status}`) problems.push(`${orderId}: ${types[0]} published, but the order is ${status}`);
  }
  for (const orderId of byOrder.keys()) if (!statuses.has(orderId)) problems.push(`${orderId}: decision event for an unknown order`);
  expect(problems).toEqual([]);
}

/** Messages ever written to a topic: the sum of its partitions' high watermarks. */
export async function messagesIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The product service's side of "reserved once": it publishes product.stock_reserved only when it takes
 * stock (a replayed reservation publishes nothing), so each confirmed order has exactly one per line and
 * a rejected order none.
 */
export function expectOneReservationPerConfirmedOrder(productEvents: readonly CollectedMessage[], statuses: ReadonlyMap<string, string>): void {
  const reservedBy = new Map<string, number>();
  for (const m of productEvents) {
    if (m.headers['event-type'] !== 'product.stock_reserved') continue;
    const orderId = (m.value as { data: { order_id: string } }).data.order_id;
    if (statuses.has(orderId)) reservedBy.set(orderId, (reservedBy.get(orderId) ?? 0) + 1);
  }
  const problems: string[] = [];
  for (const [orderId, status] of statuses) {
    const n = reservedBy.get(orderId) ?? 0;
    if (status === 'confirmed' && n !== 1) problems.push(`${orderId} (confirmed): ${n} stock reservations`);
    if (status !== 'confirmed' && n !== 0) problems.push(`${orderId} (${status}): ${n} stock reservations`);
  }
  expect(problems).toEqual([]);
}
