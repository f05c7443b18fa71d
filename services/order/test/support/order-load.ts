/**
 * Order intake for fault tests: bursts and a steady stream of POST /orders/async (or POST /orders),
 * remembering every answer. By default each request carries its own Idempotency-Key, as a careful
 * client's would, so a request that failed can be retried without the risk of a second order (a 5xx
 * does not prove that nothing was committed).
 */
import { randomUUID } from 'node:crypto';
import { mapConcurrent, type ApiClient, type ApiResponse } from '@eshop/test-support';
import { aUserId, anOrder } from './factories';

/** One order line kind: every order of the load has exactly one line, taken round-robin from these. */
export interface LoadLine {
  productId: number;
  quantity: number;
}

export interface OrderLoadOptions {
  /** async: POST /orders/async, accepted with 202 (default); sync: POST /orders, accepted with 201. */
  mode?: 'async' | 'sync';
  /** Send an Idempotency-Key with every request (default true); retryRefused() needs them. */
  idempotencyKeys?: boolean;
}

export interface AcceptedOrder {
  id: string;
  mode: 'async' | 'sync';
  productId: number;
  quantity: number;
  /** When the 202 (201) arrived, in ms since the epoch. */
  at: number;
  /** Accepted on a retry that replayed the first attempt: that attempt had committed although it failed. */
  replayed: boolean;
}

export interface RefusedRequest {
  /** 0 when no answer came at all. */
  status: number;
  contentType: string;
  body: unknown;
  at: number;
  /** The answer to retryRefused()'s retry, once it ran. */
  retryStatus?: number;
}

interface Attempt {
  line: LoadLine;
  key: string | undefined;
  body: ReturnType<typeof anOrder>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OrderLoad {
  readonly accepted: AcceptedOrder[] = [];
  /** Every answer other than 202 (201 for sync), kept for assertions even after a successful retry. */
  readonly refused: RefusedRequest[] = [];
  private readonly toRetry = new Map<RefusedRequest, Attempt>();
  private sent = 0;

  readonly mode: 'async' | 'sync';
  private readonly idempotencyKeys: boolean;

  constructor(
    private readonly api: ApiClient,
    private readonly lines: readonly LoadLine[],
    options: OrderLoadOptions = {},
  ) {
    this.mode = options.mode ?? 'async';
    this.idempotencyKeys = options.idempotencyKeys ?? true;
  }

  private get acceptedStatus(): number {
    return this.mode === 'async' ? 202 : 201;
  }

  /** `count` orders, `concurrency` at a time. */
  async burst(count: number, concurrency = 25): Promise<void> {
    let left = count;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (left > 0) {
          left--;
          await this.placeOne();
        }
      }),
    );
  }

  /** Places orders with `workers` loops, each pausing `gapMs` between requests, until the returned stop() is called. */
  stream(workers: number, gapMs: number): { stop(): Promise<void> } {
    let running = true;
    const loops = Array.from({ length: workers }, async () => {
      while (running) {
        await this.placeOne();
        await sleep(gapMs);
      }
    });
    return {
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  /** Sends every refused request once more, with its Idempotency-Key and body. */
  async retryRefused(concurrency = 10): Promise<void> {
    if (!this.idempotencyKeys) throw new Error('retrying without Idempotency-Keys could place an order twice');
    const retries = [...this.toRetry];
    this.toRetry.clear();
    await mapConcurrent(retries, concurrency, async ([refusal, attempt]) => {
      const res = await this.send(attempt);
      refusal.retryStatus = res?.status ?? 0;
      if (res?.status === this.acceptedStatus) this.accept(attempt, res);
    });
  }

  acceptedBetween(from: number, to: number): AcceptedOrder[] {
    return this.accepted.filter((o) => o.at >= from && o.at <= to);
  }

  private async placeOne(): Promise<void> {
    const line = this.lines[this.sent++ % this.lines.length]!;
    const key = this.idempotencyKeys ? randomUUID() : undefined;
    const attempt: Attempt = { line, key, body: anOrder(aUserId(), [[line.productId, line.quantity]]) };
    const res = await this.send(attempt);
    if (res?.status === this.acceptedStatus) {
      this.accept(attempt, res);
      return;
    }
    const refusal: RefusedRequest = { status: res?.status ?? 0, contentType: res?.contentType ?? '', body: res?.body, at: Date.now() };
    this.refused.push(refusal);
    if (key) this.toRetry.set(refusal, attempt);
  }

  private async send(attempt: Attempt): Promise<ApiResponse | undefined> {
    try {
      const path = this.mode === 'async' ? '/orders/async' : '/orders';
      return await this.api.post(path, attempt.body, attempt.key ? { 'Idempotency-Key': attempt.key } : {});
    } catch {
      return undefined; // no answer (connection refused or reset)
    }
  }

  private accept(attempt: Attempt, res: ApiResponse): void {
    this.accepted.push({
      id: res.body.id as string,
      mode: this.mode,
      productId: attempt.line.productId,
      quantity: attempt.line.quantity,
      at: Date.now(),
      replayed: res.headers.get('idempotent-replayed') === 'true',
    });
  }
}
