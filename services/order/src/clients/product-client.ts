import type { Logger, Metrics } from '@eshop/common';
import { Pool } from 'undici';
import type { OrderLine, ReservedItem } from '../domain/order';

/**
 * The product service could not answer: connection refused or reset, a timeout, or a 5xx. Callers
 * treat it as transient (retry later; never as a business outcome). `maybeApplied` is true when the
 * request may have been processed anyway (a timeout after sending, a 502/504), so a caller that gives
 * up should compensate.
 */
export class ProductServiceUnavailableError extends Error {
  constructor(
    message: string,
    readonly maybeApplied: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProductServiceUnavailableError';
  }
}

/** What a reservation call can end in, besides ProductServiceUnavailableError. */
export type ReserveOutcome =
  | { kind: 'reserved'; created: boolean; items: ReservedItem[] }
  | { kind: 'insufficient_stock'; productId: number; requested: number; available: number }
  | { kind: 'product_unavailable'; productId: number }
  /** The order id's reservation was released (or tombstoned by an earlier release); it cannot reserve again. */
  | { kind: 'reservation_released' }
  /** The order id already holds a reservation with other lines. */
  | { kind: 'reservation_conflict' };

/** The inventory operations the order use cases need; both are idempotent by order id. */
export interface Inventory {
  reserve(orderId: string, lines: readonly OrderLine[]): Promise<ReserveOutcome>;
  release(orderId: string): Promise<void>;
}

export interface ProductClientOptions {
  baseUrl: string;
  /** Deadline for one call: connect, headers and body. */
  timeoutMs: number;
  connectTimeoutMs: number;
  connections: number;
  logger: Logger;
  metrics: Metrics;
}

interface ReservationBody {
  order_id: string;
  status: 'reserved' | 'released';
  items: Array<{ product_id: number; name: string; quantity: number; unit_price: string }>;
}

interface ProblemBody {
  code?: string;
  product_id?: number;
  requested?: number;
  available?: number;
}

interface JsonResponse {
  status: number;
  body: unknown;
}

// Connection errors where the request never reached the service: nothing to compensate.
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// Errors on a reused keep-alive connection the server had just closed: safe and cheap to retry once.
const STALE_CONNECTION = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/** Client of the product service's internal inventory API over a keep-alive undici Pool. */
export class ProductClient implements Inventory {
  private readonly pool: Pool;
  private readonly duration;

  constructor(private readonly options: ProductClientOptions) {
    this.pool = new Pool(options.baseUrl, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    this.duration = options.metrics.histogram({
      name: 'product_client_request_duration_seconds',
      help: 'Calls from the order service to the product service, by operation and outcome (HTTP status or error).',
      labelNames: ['operation', 'outcome'] as const,
    });
  }

  async reserve(orderId: string, lines: readonly OrderLine[]): Promise<ReserveOutcome> {
    const res = await this.call('reserve', 'POST', '/internal/reservations', {
      order_id: orderId,
      items: lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
    });
    if (res.status === 200 || res.status === 201) {
      const body = res.body as ReservationBody;
      return {
        kind: 'reserved',
        created: res.status === 201,
        items: body.items.map((i) => ({ productId: i.product_id, name: i.name, quantity: i.quantity, unitPrice: i.unit_price })),
      };
    }
    const problem = (res.body ?? {}) as ProblemBody;
    switch (problem.code) {
      case 'insufficient_stock':
        return {
          kind: 'insufficient_stock',
          productId: Number(problem.product_id),
          requested: Number(problem.requested),
          available: Number(problem.available),
        };
      case 'product_unavailable':
        return { kind: 'product_unavailable', productId: Number(problem.product_id) };
      case 'reservation_released':
        return { kind: 'reservation_released' };
      case 'reservation_conflict':
        return { kind: 'reservation_conflict' };
      default:
        throw new Error(`product service refused reservation of order ${orderId}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  async release(orderId: string): Promise<void> {
    const res = await this.call('release', 'POST', `/internal/reservations/${encodeURIComponent(orderId)}/release`);
    if (res.status !== 200) {
      throw new Error(`product service refused release of order ${orderId}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  /** One page of reservations still holding stock that were made before `createdBefore`, in order id order after `after`. */
  async heldReservations(createdBefore: Date, after: string, limit: number): Promise<{ orderIds: string[]; nextAfter: string | null }> {
    const query = new URLSearchParams({ status: 'reserved', created_before: createdBefore.toISOString(), after, limit: String(limit) });
    const res = await this.call('list_held', 'GET', `/internal/reservations?${query.toString()}`);
    if (res.status !== 200) throw new Error(`product service refused to list held reservations: ${res.status} ${JSON.stringify(res.body)}`);
    const body = res.body as { items: Array<{ order_id: string }>; next_after: string | null };
    return { orderIds: body.items.map((i) => i.order_id), nextAfter: body.next_after };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** One JSON call; 5xx and transport failures become ProductServiceUnavailableError, other statuses are returned. */
  private async call(operation: string, method: 'POST' | 'GET', path: string, json?: unknown): Promise<JsonResponse> {
    const deadline = Date.now() + this.options.timeoutMs;
    // Whether an earlier attempt may have been processed: a retry that is then refused does not undo it.
    let earlierMaybeApplied = false;
    for (let attempt = 1; ; attempt++) {
      const endTimer = this.duration.startTimer({ operation });
      try {
        const res = await this.pool.request({
          method,
          path,
          headers: json === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
          body: json === undefined ? undefined : JSON.stringify(json),
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        const text = await res.body.text();
        endTimer({ outcome: String(res.statusCode) });
        if (res.statusCode >= 500) {
          throw new ProductServiceUnavailableError(
            `product service answered ${res.statusCode} to ${operation}`,
            earlierMaybeApplied || (res.statusCode !== 503 && res.statusCode !== 500),
          );
        }
        return { status: res.statusCode, body: text.length > 0 ? (JSON.parse(text) as unknown) : undefined };
      } catch (err) {
        if (err instanceof ProductServiceUnavailableError) throw err;
        endTimer({ outcome: 'error' });
        const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
        const maybeApplied: boolean = earlierMaybeApplied || code === undefined || !NOT_SENT.has(code);
        if (attempt === 1 && code !== undefined && STALE_CONNECTION.has(code) && Date.now() < deadline) {
          // Usually a keep-alive connection the server had just closed, but the server may also have died
          // after reading (and applying) the request.
          this.options.logger.debug({ err, operation }, 'product service connection reset; retrying once');
          earlierMaybeApplied = maybeApplied;
          continue;
        }
        throw new ProductServiceUnavailableError(
          `product service unreachable for ${operation}: ${err instanceof Error ? err.message : String(err)}`,
          maybeApplied,
          { cause: err },
        );
      }
    }
  }
}
