/**
 * What a fault test saw, for docs/reliability.md. When RELIABILITY_REPORT_DIR is set (`npm run reliability`),
 * a scenario writes `<id>.json` there once its assertions passed; otherwise nothing is written. The figures
 * are observations of one run (counts, and when things happened relative to the scenario's start), not
 * performance claims.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CollectedMessage } from '@eshop/test-support';
import { decisionsByOrder, type StackUnderTest, type StockedProduct } from './delivery-invariants';
import type { OrderLoad } from './order-load';

/** What one group of clients got: first answers by status ("no answer" when the connection failed), then their retries. */
export interface ClientFigures {
  requests: number;
  answers: Record<string, number>;
  retried: number;
  retryAnswers: Record<string, number>;
  /** Retries answered with the order the failed attempt had recorded after all (Idempotent-Replayed). */
  replayedOnRetry: number;
}

export interface StockFigures {
  productId: number;
  initial: number;
  confirmedUnits: number;
  final: number;
}

export interface EventFigures {
  /** Messages of each type on the order topic (copies included). */
  messages: Record<string, number>;
  /** Distinct event ids of each type: what a consumer that deduplicates by event id sees. */
  distinctEvents: Record<string, number>;
  /** Orders with two different decision events (decided twice): must be 0. */
  ordersDecidedTwice: number;
  /** Extra copies of an already published event (same event id; at-least-once relay). */
  republishedCopies: number;
}

export interface InvariantFigures {
  accepted: { async: number; sync: number };
  confirmed: number;
  rejected: number;
  /** Accepted orders not terminal (pending) after the drain: must be 0. */
  notTerminal: number;
  /** Accepted orders missing from the database: must be 0. */
  lost: number;
  /** Orders in the database that no client was told were accepted (a duplicate): must be 0. */
  unaccountedOrders: number;
  /** Reservations holding stock of the scenario's products. */
  reservationsHeld: number;
  /** Of those, held for an order that is not confirmed, or that no client was told about (a leak): must be 0. */
  reservationsWithoutConfirmedOrder: number;
  stock: StockFigures[];
  outboxLeft: number;
  deadLettered?: number;
  events?: EventFigures;
}

export interface TimelineEntry {
  /** Seconds since the scenario started. */
  at: number;
  event: string;
}

export interface SpanEntry {
  name: string;
  from: number;
  to: number;
}

export interface ScenarioReport {
  /** `a-consumer-kill` … `f-slow-product`: file name and sort order. */
  id: string;
  title: string;
  /** The test file, relative to the repository root. */
  suite: string;
  ranAt: string;
  /** Where it ran: cores, CPU model, Node.js version (the seconds depend on it). */
  machine: string;
  /** Wall time of the scenario, from its start to the last check. */
  seconds: number;
  timeline: TimelineEntry[];
  spans: SpanEntry[];
  clients: Record<string, ClientFigures>;
  invariants?: InvariantFigures;
  /** Scenario-specific observations (retries, breaker states, backlogs). */
  observations: Record<string, number | string | Record<string, number>>;
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;

/** Collects one scenario's observations as it runs; write() stores them when RELIABILITY_REPORT_DIR is set. */
export class ScenarioRecorder {
  readonly startedAt = Date.now();
  private readonly report: ScenarioReport;

  constructor(id: string, title: string, testFile: string) {
    this.report = {
      id,
      title,
      suite: path.relative(path.resolve(__dirname, '..', '..', '..', '..'), testFile),
      ranAt: new Date(this.startedAt).toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node.js ${process.version}`,
      seconds: 0,
      timeline: [],
      spans: [],
      clients: {},
      observations: {},
    };
  }

  /** Seconds since the scenario started, for an epoch-ms time (default: now). */
  since(at = Date.now()): number {
    return round((at - this.startedAt) / 1000);
  }

  /** Seconds from one epoch-ms time to another, to a tenth. */
  static seconds(from: number, to: number): number {
    return round((to - from) / 1000);
  }

  /** Something happened now (or at `at`, epoch ms). */
  mark(event: string, at = Date.now()): void {
    this.report.timeline.push({ at: this.since(at), event });
  }

  /** A period, e.g. the fault's duration or an intake stream (epoch ms). */
  span(name: string, from: number, to: number): void {
    this.report.spans.push({ name, from: this.since(from), to: this.since(to) });
  }

  clients(group: string, figures: ClientFigures): void {
    this.report.clients[group] = figures;
  }

  observe(name: string, value: number | string | Record<string, number>): void {
    this.report.observations[name] = value;
  }

  invariants(figures: InvariantFigures): void {
    this.report.invariants = figures;
  }

  /** Writes `<RELIABILITY_REPORT_DIR>/<id>.json`; does nothing without the variable. */
  async write(): Promise<void> {
    const dir = process.env.RELIABILITY_REPORT_DIR;
    if (!dir) return;
    this.report.seconds = this.since();
    this.report.timeline.sort((a, b) => a.at - b.at);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${this.report.id}.json`), `${JSON.stringify(this.report, null, 2)}\n`);
  }
}

function tally(statuses: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of statuses) {
    const key = s === 0 ? 'no answer' : String(s);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A load's answers: first attempts (accepted or refused) and the retries of the refused ones. */
export function loadFigures(load: OrderLoad): ClientFigures {
  const acceptedStatus = load.mode === 'async' ? 202 : 201;
  const retried = load.refused.filter((r) => r.retryStatus !== undefined);
  const acceptedOnRetry = retried.filter((r) => r.retryStatus === acceptedStatus).length;
  const firstAccepted = load.accepted.length - acceptedOnRetry;
  return {
    requests: firstAccepted + load.refused.length,
    answers: tally([...Array<number>(firstAccepted).fill(acceptedStatus), ...load.refused.map((r) => r.status)]),
    retried: retried.length,
    retryAnswers: tally(retried.map((r) => r.retryStatus!)),
    replayedOnRetry: load.accepted.filter((o) => o.replayed).length,
  };
}

/** Answers of any other client (catalog reads, …), by status. */
export function statusFigures(statuses: readonly number[]): ClientFigures {
  return { requests: statuses.length, answers: tally(statuses), retried: 0, retryAnswers: {}, replayedOnRetry: 0 };
}

/** Event counts on the order topic; `messages` is the whole topic, read after the drain. */
export function eventFigures(messages: readonly CollectedMessage[]): EventFigures {
  const copies: Record<string, number> = {};
  const ids: Record<string, Set<string>> = {};
  for (const m of messages) {
    const type = m.headers['event-type'] ?? '(none)';
    copies[type] = (copies[type] ?? 0) + 1;
    (ids[type] ??= new Set()).add(m.headers['event-id'] ?? '');
  }
  const distinctEvents = Object.fromEntries(Object.entries(ids).map(([type, set]) => [type, set.size]));
  let decidedTwice = 0;
  for (const events of decisionsByOrder(messages).values()) if (new Set(events.map((e) => e.headers['event-id'])).size > 1) decidedTwice++;
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return { messages: copies, distinctEvents, ordersDecidedTwice: decidedTwice, republishedCopies: total(copies) - total(distinctEvents) };
}

/**
 * The invariants' figures, read from both databases after the checks passed: what the scenario ended with,
 * for the report (the assertions live in delivery-invariants.ts).
 */
export async function invariantFigures(
  stack: StackUnderTest,
  accepted: readonly { id: string; mode: 'async' | 'sync'; productId: number; quantity: number }[],
  products: readonly StockedProduct[],
  extra: { orderEvents?: readonly CollectedMessage[]; deadLettered?: number } = {},
): Promise<InvariantFigures> {
  const rows = await stack.db.query<{ id: string; status: string }>('SELECT id, status FROM orders');
  const statuses = new Map(rows.map((r) => [r.id, r.status]));
  const acceptedIds = new Set(accepted.map((o) => o.id));
  const ofAccepted = accepted.map((o) => ({ ...o, status: statuses.get(o.id) }));
  const held = await stack.product.db.query<{ order_id: string }>(
    `SELECT DISTINCT r.order_id FROM reservations r JOIN reservation_items i ON i.order_id = r.order_id
      WHERE r.status = 'reserved' AND i.product_id IN (?)`,
    [products.map((p) => p.productId)],
  );
  const [outbox] = await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_events');
  const stock: StockFigures[] = [];
  for (const p of products) {
    const confirmedUnits = ofAccepted.filter((o) => o.productId === p.productId && o.status === 'confirmed').reduce((n, o) => n + o.quantity, 0);
    stock.push({ productId: p.productId, initial: p.initialStock, confirmedUnits, final: await stack.product.stockOf(p.productId) });
  }
  return {
    accepted: { async: accepted.filter((o) => o.mode === 'async').length, sync: accepted.filter((o) => o.mode === 'sync').length },
    confirmed: ofAccepted.filter((o) => o.status === 'confirmed').length,
    rejected: ofAccepted.filter((o) => o.status === 'rejected').length,
    notTerminal: ofAccepted.filter((o) => o.status !== undefined && o.status !== 'confirmed' && o.status !== 'rejected').length,
    lost: ofAccepted.filter((o) => o.status === undefined).length,
    unaccountedOrders: [...statuses.keys()].filter((id) => !acceptedIds.has(id)).length,
    reservationsHeld: held.length,
    reservationsWithoutConfirmedOrder: held.filter((r) => !acceptedIds.has(r.order_id) || statuses.get(r.order_id) !== 'confirmed').length,
    stock,
    outboxLeft: Number(outbox?.n),
    ...(extra.deadLettered === undefined ? {} : { deadLettered: extra.deadLettered }),
    ...(extra.orderEvents ? { events: eventFigures(extra.orderEvents) } : {}),
  };
}
