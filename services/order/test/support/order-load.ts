/** Async order intake for fault tests: bursts and a steady stream, remembering every answer. */
import type { ApiClient, ApiResponse } from '@eshop/test-support';
import { aUserId, anOrder } from './factories';

/** One order line kind: every order of the load has exactly one line, taken round-robin from these. */
export interface LoadLine {
  productId: number;
  quantity: number;
}

export interface AcceptedOrder {
  id: string;
  productId: number;
  quantity: number;
  /** When the 202 arrived (ms since the epoch). */
  at: number;
}

export interface RefusedRequest {
  status: number;
  contentType: string;
  body: unknown;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OrderLoad {
  readonly accepted: AcceptedOrder[] = [];
  /** Answers other than 202, and requests that got no answer at all (status 0). */
  readonly refused: RefusedRequest[] = [];
  private sent = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly lines: readonly LoadLine[],
  ) {}

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

  acceptedBetween(from: number, to: number): AcceptedOrder[] {
    return this.accepted.filter((o) => o.at >= from && o.at <= to);
  }

  private async placeOne(): Promise<void> {
    const line = this.lines[this.sent++ % this.lines.length]!;
    let res: ApiResponse;
    try {
      res = await this.api.post('/orders/async', anOrder(aUserId(), [[line.productId, line.quantity]]));
    } catch (err) {
      this.refused.push({ status: 0, contentType: '', body: String(err), at: Date.now() });
      return;
    }
    if (res.status === 202) {
      this.accepted.push({ id: res.body.id as string, productId: line.productId, quantity: line.quantity, at: Date.now() });
    } else {
      this.refused.push({ status: res.status, contentType: res.contentType, body: res.body, at: Date.now() });
    }
  }
}
