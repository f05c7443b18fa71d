import autocannon from 'autocannon';

/** One kind of request; `vary` gives each request its own path or body (random product, order line). */
export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  /** Extra headers of every request, e.g. the Authorization of the window's user. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly vary?: () => { path?: string; body?: string };
}

export interface LoadSpec {
  readonly title: string;
  /** Origin only, e.g. http://127.0.0.1:18080; loopback only. */
  readonly origin: string;
  readonly connections: number;
  readonly request: LoadRequest;
  /** Run for this long … */
  readonly seconds?: number;
  /** … or send exactly this many requests (then `maxSeconds` bounds it). */
  readonly amount?: number;
  readonly maxSeconds?: number;
  /** Ends the window early when aborted. */
  readonly signal?: AbortSignal;
}

export interface Latency {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** What one load window measured. Latencies in ms over every response (any status). */
export interface LoadResult {
  readonly title: string;
  readonly connections: number;
  readonly seconds: number;
  readonly responses: number;
  readonly ok: number;
  /** HTTP status → count. */
  readonly statuses: Record<string, number>;
  /** Requests without a response: connection errors and timeouts (autocannon's `errors`). */
  readonly errors: number;
  readonly timeouts: number;
  readonly okPerSecond: number;
  /** 2xx / (responses + errors), in %. */
  readonly successPercent: number;
  readonly latencyMs: Latency;
}

const REQUEST_TIMEOUT_SECONDS = 20;

/** Runs one bounded autocannon window and measures exact latency percentiles from every response. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(spec.origin)) {
    return Promise.reject(new Error(`refusing a non-loopback load target: ${spec.origin}`));
  }
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(65536);
    let count = 0;
    const statuses: Record<string, number> = {};
    const { request } = spec;
    const vary = request.vary;
    const instance = autocannon(
      {
        url: spec.origin,
        connections: spec.connections,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds ?? 1 }),
        timeout: REQUEST_TIMEOUT_SECONDS,
        requests: [
          {
            method: request.method,
            path: request.path,
            headers: { ...(request.method === 'POST' ? { 'content-type': 'application/json' } : {}), ...request.headers },
            ...(request.body !== undefined ? { body: request.body } : {}),
            ...(vary ? { setupRequest: (req: autocannon.Request) => ({ ...req, ...vary() }) } : {}),
          },
        ],
      },
      (err: unknown, result: autocannon.Result) => {
        clearTimeout(hardStop);
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
        const ok = Object.entries(statuses)
          .filter(([s]) => s.startsWith('2'))
          .reduce((a, [, n]) => a + n, 0);
        const seconds = result.duration;
        resolve({
          title: spec.title,
          connections: spec.connections,
          seconds: round(seconds, 2),
          responses,
          ok,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          okPerSecond: round(ok / seconds, 1),
          successPercent: responses + result.errors > 0 ? round((ok / (responses + result.errors)) * 100, 2) : 0,
          latencyMs: percentiles(latencies.subarray(0, count)),
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
    const limit = spec.amount !== undefined ? (spec.maxSeconds ?? 120) : (spec.seconds ?? 1) + REQUEST_TIMEOUT_SECONDS + 5;
    const hardStop = setTimeout(() => instance.stop(), limit * 1000);
    // Stopped early (Ctrl-C): autocannon ends the window and reports what it measured so far.
    spec.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  });
}

/** A warm-up of `seconds` (not measured), then the measured window. */
export async function warmThenRun(spec: LoadSpec, warmupSeconds: number): Promise<LoadResult> {
  if (warmupSeconds > 0) await runLoad({ ...spec, title: `${spec.title} (warm-up)`, seconds: warmupSeconds, amount: undefined });
  return runLoad(spec);
}

function percentiles(values: Float64Array): Latency {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: round(at(0.5), 2),
    p95: round(at(0.95), 2),
    p99: round(at(0.99), 2),
    max: round(sorted[sorted.length - 1]!, 2),
    mean: round(sum / sorted.length, 2),
  };
}

export const round = (n: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
