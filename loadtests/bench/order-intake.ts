import { measured, orderBody, tally, waitDecided, type BenchContext, type OrderTally, type Window } from './context';
import { round } from './load';

export interface IntakeLevel {
  readonly connections: number;
  /** POST /orders through the gateway: reserve at the product service, then record (201). */
  readonly sync: Window;
  /** POST /orders/async through the gateway: record pending + outbox event (202); consumers decide later. */
  readonly async: Window;
  /** async 2xx/s ÷ sync 2xx/s. */
  readonly asyncToSync: number;
  /** This level's async orders (warm-up included) when the window ended … */
  readonly asyncAtWindowEnd: OrderTally;
  /** … seconds after the window until none was pending (undefined: not within the drain timeout) … */
  readonly asyncDrainSeconds?: number;
  /** … and how they ended. */
  readonly asyncFinal: OrderTally;
}

/**
 * Sync vs async order intake through the gateway at increasing concurrency, one consumer process
 * running (as `platform.sh up` runs it). After each async window the run waits until that window's
 * orders are all decided, so every window starts from an idle pipeline and none pays for the
 * previous one's backlog.
 */
export async function orderIntake(ctx: BenchContext): Promise<IntakeLevel[]> {
  const { options } = ctx;
  const levels: IntakeLevel[] = [];
  for (const connections of options.orderConnections) {
    const windows: Record<'sync' | 'async', Window> = {} as Record<'sync' | 'async', Window>;
    for (const mode of ['sync', 'async'] as const) {
      const user = `${mode}-c${connections}`;
      windows[mode] = await measured(ctx, {
        title: `POST /orders${mode === 'async' ? '/async' : ''} c=${connections}`,
        origin: ctx.gateway,
        connections,
        seconds: options.orderSeconds,
        request: { method: 'POST', path: mode === 'sync' ? '/orders' : '/orders/async', headers: await ctx.customer(user), vary: orderBody(ctx, user) },
      });
      const l = windows[mode].load;
      ctx.log(
        `  ${mode.padEnd(5)} c=${String(connections).padEnd(3)} ${l.okPerSecond.toFixed(0).padStart(6)} ok/s  ` +
          `p50 ${l.latencyMs.p50} p95 ${l.latencyMs.p95} p99 ${l.latencyMs.p99} ms  success ${l.successPercent} %`,
      );
    }
    const user = `async-c${connections}`;
    const atEnd = await tally(ctx, user);
    const drain = await waitDecided(ctx, user, options.drainTimeoutSeconds);
    ctx.log(`  async c=${connections}: ${atEnd.total} accepted, ${atEnd.total - atEnd.pending} decided by the window's end, rest in ${drain.seconds?.toFixed(1) ?? `>${options.drainTimeoutSeconds}`} s`);
    levels.push({
      connections,
      sync: windows.sync,
      async: windows.async,
      asyncToSync: windows.sync.load.okPerSecond > 0 ? round(windows.async.load.okPerSecond / windows.sync.load.okPerSecond, 2) : 0,
      asyncAtWindowEnd: atEnd,
      ...(drain.seconds !== undefined ? { asyncDrainSeconds: round(drain.seconds, 1) } : {}),
      asyncFinal: drain.tally,
    });
  }
  // A level that did not drain in time gets one more (bounded) look at the end.
  return Promise.all(
    levels.map(async (level) => (level.asyncFinal.pending > 0 ? { ...level, asyncFinal: (await waitDecided(ctx, `async-c${level.connections}`, 30)).tally } : level)),
  );
}
