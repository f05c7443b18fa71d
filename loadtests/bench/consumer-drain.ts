import type { CpuShare } from './cpu';
import { counterDelta, dbCounters, measured, orderBody, sleep, waitDecided, type BenchContext, type DbCounters, type OrderTally, type Window } from './context';
import { round } from './load';

export interface DrainResult {
  readonly consumers: number;
  readonly orders: number;
  /** Taking the backlog: async intake through the gateway with no consumer running. */
  readonly intake: Window;
  /** Seconds from the end of intake until the outbox relay had published every order.placed. */
  readonly relaySeconds: number;
  /** Seconds from spawning the consumer processes until every one answered /readyz. */
  readonly startSeconds: number;
  /** Seconds from spawning the consumers until no order of the backlog was pending (undefined: timed out). */
  readonly drainSeconds?: number;
  /** orders ÷ drainSeconds: what a scale-out delivers, start-up and group rebalances included. */
  readonly ordersPerSecond: number;
  /** Decisions per second between the 10th and the 90th percentile of decision times (start-up and tail excluded). */
  readonly steadyOrdersPerSecond: number;
  readonly cpu: CpuShare;
  /** MariaDB counters from spawning the consumers until the backlog was drained. */
  readonly db: DbCounters;
  readonly final: OrderTally;
}

/**
 * The consumer pipeline: with no consumer running, take a backlog of N async orders and let the relay
 * publish them; then start k consumer processes at once and time until all N are decided.
 */
export async function consumerDrain(ctx: BenchContext): Promise<DrainResult[]> {
  const { options, stack } = ctx;
  const results: DrainResult[] = [];
  for (const k of options.consumerCounts) {
    await stack.stop(...stack.running('consumer'));
    const user = `drain-k${k}`;
    const intake = await measured(
      { ...ctx, options: { ...options, warmupSeconds: 0 } },
      {
        title: `backlog of ${options.backlogOrders} async orders`,
        origin: ctx.gateway,
        connections: 64,
        amount: options.backlogOrders,
        maxSeconds: 120,
        request: { method: 'POST', path: '/orders/async', headers: await ctx.customer(user), vary: orderBody(ctx, user) },
      },
    );
    const relayStarted = performance.now();
    await waitOutboxEmpty(ctx, 60);
    const relaySeconds = (performance.now() - relayStarted) / 1000;

    const dbBefore = await dbCounters(ctx.orderDb);
    const begin = ctx.sampler.begin();
    const spawned = performance.now();
    await Promise.all(Array.from({ length: k }, (_, i) => stack.start('consumer', `consumer-k${k}-${i + 1}`)));
    const startSeconds = (performance.now() - spawned) / 1000;
    const drain = await waitDecided(ctx, user, Math.max(60, options.drainTimeoutSeconds * 2));
    const drainSeconds = drain.seconds !== undefined ? drain.seconds + startSeconds : undefined;
    const cpu = ctx.sampler.end(begin);
    const db = counterDelta(dbBefore, await dbCounters(ctx.orderDb));
    const steady = await steadyRate(ctx, user);
    const result: DrainResult = {
      consumers: k,
      orders: intake.load.ok,
      intake,
      relaySeconds: round(relaySeconds, 1),
      startSeconds: round(startSeconds, 1),
      ...(drainSeconds !== undefined ? { drainSeconds: round(drainSeconds, 1) } : {}),
      ordersPerSecond: drainSeconds ? round(drain.tally.total / drainSeconds, 0) : 0,
      steadyOrdersPerSecond: round(steady, 0),
      cpu,
      db,
      final: drain.tally,
    };
    ctx.log(
      `  ${k} consumer(s): ${result.orders} orders drained in ${result.drainSeconds ?? '(timeout)'} s ` +
        `(start ${result.startSeconds} s) → ${result.ordersPerSecond} orders/s, steady ${result.steadyOrdersPerSecond}/s`,
    );
    results.push(result);
  }
  await stack.stop(...stack.running('consumer'));
  return results;
}

async function waitOutboxEmpty(ctx: BenchContext, timeoutSeconds: number): Promise<void> {
  const deadline = performance.now() + timeoutSeconds * 1000;
  while (performance.now() < deadline) {
    const [rows] = await ctx.orderDb.query('SELECT COUNT(*) AS n FROM outbox_events');
    if (Number((rows as { n: number | string }[])[0]!.n) === 0) return;
    await sleep(100);
  }
  ctx.log(`  warning: the outbox still held events after ${timeoutSeconds} s`);
}

/** Orders decided per second over the middle 80 % of the decisions (by their updated_at). */
async function steadyRate(ctx: BenchContext, user: string): Promise<number> {
  const [rows] = await ctx.orderDb.query("SELECT updated_at AS at FROM orders WHERE user_id = ? AND status <> 'pending' ORDER BY updated_at", [user]);
  const times = (rows as { at: Date }[]).map((r) => r.at.getTime());
  if (times.length < 10) return 0;
  const lo = Math.floor(times.length * 0.1);
  const hi = Math.ceil(times.length * 0.9) - 1;
  const span = (times[hi]! - times[lo]!) / 1000;
  return span > 0 ? (hi - lo) / span : 0;
}
