import { measured, orderBody, type BenchContext, type Window } from './context';
import { round, runLoad } from './load';
import type { ServiceProcess } from './stack';

/** One way of running the request path: tracing off, or on at a sample ratio. */
export interface TracingVariant {
  readonly name: string;
  /** OTEL_TRACES_SAMPLER_ARG of the parentbased_traceidratio sampler; undefined: tracing off. */
  readonly sampleRatio?: number;
  readonly windows: Window[];
  /** Mean 2xx/s over the rounds. */
  readonly okPerSecond: number;
  /** Mean p95 over the rounds. */
  readonly p95Ms: number;
  /** This variant's orders/s ÷ the untraced ones, in % (100 = no cost). */
  readonly ofUntracedPercent: number;
}

export interface TracingOverhead {
  readonly path: string;
  readonly connections: number;
  readonly rounds: number;
  readonly otlpUrl?: string;
  /** Why the phase did not run (no local Jaeger). */
  readonly skipped?: string;
  readonly variants: TracingVariant[];
}

/** The production default (services/common/src/tracing.ts) and full sampling, as local/platform.sh up runs it. */
const DEFAULT_RATIO = 0.1;

/**
 * What tracing costs a sync order: POST /orders through the gateway (gateway → order → product → MariaDB, then the
 * relay's publish) on three copies of the request path side by side — tracing off, on at the default sample ratio
 * (0.1) and on for every request (1) — exporting to the local Jaeger. Windows rotate across rounds so drift on a
 * shared machine hits every variant alike; the figure is each variant's rate as a share of the untraced one.
 */
export async function tracingOverhead(ctx: BenchContext): Promise<TracingOverhead> {
  const { stack, options } = ctx;
  const connections = 32;
  const rounds = Math.max(2, options.catalogRounds);
  const base = { path: 'sync POST /orders via the gateway', connections, rounds };
  const otlpUrl = stack.infra.otlpUrl;
  if (!otlpUrl) return { ...base, skipped: 'no local Jaeger (ESHOP_JAEGER_OTLP_URL unset: start it with local/platform.sh infra)', variants: [] };

  const upstreams = stack.upstreams;
  const started: ServiceProcess[] = [];
  const paths: Array<{ name: string; sampleRatio?: number; origin: string }> = [];
  try {
    // Three fresh copies of the path, started alike (the untraced one too: the bench's own processes are warmer).
    for (const ratio of [undefined, DEFAULT_RATIO, 1]) {
      const tag = ratio === undefined ? 'untraced' : ratio === 1 ? 'traced-all' : 'traced-default';
      stack.extraEnv = (): Record<string, string> =>
        ratio === undefined
          ? {}
          : { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) };
      // Each traced gateway calls its own traced order and product services (start() links the latest ones).
      const product = await stack.start('product', `product-${tag}`);
      const order = await stack.start('order', `order-${tag}`);
      const gateway = await stack.start('gateway', `gateway-${tag}`);
      started.push(gateway, order, product);
      const name = ratio === undefined ? 'tracing off' : ratio === 1 ? 'tracing on, every request (ratio 1)' : `tracing on, default ratio ${DEFAULT_RATIO}`;
      paths.push({ name, ...(ratio !== undefined ? { sampleRatio: ratio } : {}), origin: gateway.url });
    }
  } finally {
    stack.extraEnv = () => ({});
    stack.upstreams = upstreams;
  }

  const windows = new Map<string, Window[]>(paths.map((p) => [p.name, []]));
  try {
    // JIT, connection pools and (traced) exporters warm before anything counts.
    for (const p of paths) {
      await runLoad({
        title: `warm-up ${p.name}`,
        origin: p.origin,
        connections,
        seconds: Math.max(3, options.warmupSeconds * 3),
        request: { method: 'POST', path: '/orders', headers: await ctx.customer('tracing-warmup'), vary: orderBody(ctx, 'tracing-warmup') },
      });
    }
    for (let r = 0; r < rounds; r++) {
      const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
      for (const p of order) {
        const user = `tracing-r${r}-v${paths.indexOf(p)}`;
        const w = await measured(ctx, {
          title: `sync POST /orders, ${p.name}`,
          origin: p.origin,
          connections,
          seconds: options.orderSeconds,
          request: { method: 'POST', path: '/orders', headers: await ctx.customer(user), vary: orderBody(ctx, user) },
        });
        windows.get(p.name)!.push(w);
        ctx.log(`  ${p.name.padEnd(38)} ${w.load.okPerSecond.toFixed(0).padStart(6)} ok/s  p95 ${w.load.latencyMs.p95} ms`);
      }
    }
  } finally {
    await stack.stop(...started);
  }

  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const rate = (name: string) => mean(windows.get(name)!.map((w) => w.load.okPerSecond));
  const off = rate(paths[0]!.name);
  return {
    ...base,
    otlpUrl,
    variants: paths.map((p) => {
      const ws = windows.get(p.name)!;
      const ok = rate(p.name);
      return {
        name: p.name,
        ...(p.sampleRatio !== undefined ? { sampleRatio: p.sampleRatio } : {}),
        windows: ws,
        okPerSecond: round(ok),
        p95Ms: round(mean(ws.map((w) => w.load.latencyMs.p95)), 1),
        ofUntracedPercent: off > 0 ? round((ok / off) * 100, 1) : 0,
      };
    }),
  };
}
