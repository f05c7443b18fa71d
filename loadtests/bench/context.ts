import type { Pool } from 'mysql2/promise';
import type { CpuSampler, CpuShare } from './cpu';
import { runLoad, type LoadResult, type LoadSpec } from './load';
import type { BenchOptions } from './options';
import type { BenchStack } from './stack';

/** What every scenario needs: the running stack, its origins, the seeded catalogue and the order database. */
export interface BenchContext {
  readonly stack: BenchStack;
  readonly options: BenchOptions;
  readonly sampler: CpuSampler;
  /** Origins of the benchmark's own gateway and product service. */
  readonly gateway: string;
  readonly product: string;
  readonly productIds: readonly number[];
  /** Authorization header of a customer token for `user` (the orders of a window carry that user_id). */
  readonly customer: (user: string) => Promise<Record<string, string>>;
  /** A small pool on the benchmark's order database, for counting decided orders. */
  readonly orderDb: Pool;
  readonly log: (message: string) => void;
}

/** One measured load window with the CPU each process used during it. */
export interface Window {
  readonly load: LoadResult;
  readonly cpu: CpuShare;
  /** MariaDB server counters during the window (whole server: other clients count too). */
  readonly db: DbCounters;
}

const COUNTERS = ['Questions', 'Com_begin', 'Com_commit', 'Com_insert', 'Com_update', 'Com_select', 'Com_delete', 'Innodb_data_fsyncs'] as const;
export type DbCounters = Record<(typeof COUNTERS)[number], number>;

/** MariaDB's global status counters; their difference over a window counts statements, commits and log fsyncs. */
export async function dbCounters(pool: Pool): Promise<DbCounters> {
  const [rows] = await pool.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`, [...COUNTERS]);
  const values = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as DbCounters;
  for (const row of rows as { Variable_name: string; Value: string }[]) values[row.Variable_name as keyof DbCounters] = Number(row.Value);
  return values;
}

export function counterDelta(before: DbCounters, after: DbCounters): DbCounters {
  return Object.fromEntries(COUNTERS.map((c) => [c, after[c] - before[c]])) as DbCounters;
}

/** Warm-up (not measured), then the window with /proc CPU samples and MariaDB counters around it. */
export async function measured(ctx: BenchContext, spec: LoadSpec): Promise<Window> {
  if (ctx.options.warmupSeconds > 0) {
    await runLoad({ ...spec, title: `${spec.title} (warm-up)`, seconds: ctx.options.warmupSeconds, amount: undefined });
  }
  const dbBefore = await dbCounters(ctx.orderDb);
  const begin = ctx.sampler.begin();
  const load = await runLoad(spec);
  const cpu = ctx.sampler.end(begin);
  return { load, cpu, db: counterDelta(dbBefore, await dbCounters(ctx.orderDb)) };
}

export const randomOf = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Body of a one-line order for a random product of the catalogue; `user` tags the orders of one window. */
export function orderBody(ctx: BenchContext, user: string): () => { body: string } {
  return () => ({ body: `{"user_id":"${user}","items":[{"product_id":${randomOf(ctx.productIds)},"quantity":1}]}` });
}

export interface OrderTally {
  total: number;
  pending: number;
  confirmed: number;
  rejected: number;
}

/** Orders of one window (by their user_id tag) by status. */
export async function tally(ctx: BenchContext, user: string): Promise<OrderTally> {
  const [rows] = await ctx.orderDb.query('SELECT status, COUNT(*) AS n FROM orders WHERE user_id = ? GROUP BY status', [user]);
  const t: OrderTally = { total: 0, pending: 0, confirmed: 0, rejected: 0 };
  for (const row of rows as { status: string; n: number | string }[]) {
    const n = Number(row.n);
    t.total += n;
    if (row.status === 'pending' || row.status === 'confirmed' || row.status === 'rejected') t[row.status] += n;
  }
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until no order of `user` is pending or `timeoutSeconds` pass; returns the seconds it took (or undefined). */
export async function waitDecided(ctx: BenchContext, user: string, timeoutSeconds: number): Promise<{ seconds?: number; tally: OrderTally }> {
  const started = performance.now();
  for (;;) {
    const t = await tally(ctx, user);
    const seconds = (performance.now() - started) / 1000;
    if (t.pending === 0) return { seconds, tally: t };
    if (seconds >= timeoutSeconds) return { tally: t };
    await sleep(200);
  }
}
