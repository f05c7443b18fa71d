/**
 * npm run experiment:local [-- --orders 6000 --connections 32 --products 20 --polling 5 --scale-down-window 30
 *   --timeout 900 --delete-pod-at 3 --no-prometheus --out docs/performance]
 *
 * The autoscaling loop for real on this machine (docs/performance/autoscaling-experiment.md). Needs the local
 * infrastructure (local/platform.sh infra) and the local control plane with KEDA (local/platform.sh cluster up);
 * refuses to start otherwise. Ctrl-C stops the burst and cleans up (namespace, processes, databases, topics).
 */
import path from 'node:path';
import { InfraUnavailableError, REPO_ROOT } from '../bench/stack';
import { ClusterUnavailableError } from './cluster';
import { runAutoscalingExperiment } from './experiment';
import { writeOutputs } from './report';

function parse(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}" (see the usage at the top of loadtests/autoscaling/cli.ts)`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (key.startsWith('no-')) out.set(key, 'true');
    else out.set(key, inline ?? argv[++i] ?? '');
  }
  return out;
}

const abort = new AbortController();

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const num = (k: string, d: number) => {
    if (!a.has(k)) return d;
    const n = Number(a.get(k));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number, not "${a.get(k)}"`);
    return n;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: stopping, cleaning up (namespace, consumer processes, databases, topics)`);
      abort.abort();
    });
  }
  const result = await runAutoscalingExperiment({
    orders: num('orders', 6000),
    connections: num('connections', 32),
    products: num('products', 20),
    stockPerProduct: 1_000_000,
    pollingIntervalSeconds: num('polling', 5),
    scaleDownStabilizationSeconds: num('scale-down-window', 30),
    timeoutSeconds: num('timeout', 900),
    ...(a.has('delete-pod-at') ? { deletePodAtReplicas: num('delete-pod-at', 3) } : {}),
    ...(a.has('lag-threshold') ? { lagThreshold: String(num('lag-threshold', 100)) } : {}),
    prometheus: !a.has('no-prometheus'),
    workRoot: path.join(REPO_ROOT, '.local/autoscaling'),
    log: (line) => console.log(line),
    signal: abort.signal,
  });
  const docs = path.resolve(a.get('out') ?? path.join(REPO_ROOT, 'docs/performance'));
  for (const f of writeOutputs(result, docs)) console.log(`wrote ${path.relative(process.cwd(), f)}`);
  console.log(
    `accepted ${result.accepted}, decided ${result.decided}, lost ${result.lost}, duplicated ${result.duplicated}, oversold ${result.oversold}; ` +
      `max desired ${result.maxDesiredReplicas}, scale-up ${result.scaleUpSeconds} s, drain ${result.drainSeconds} s, final lag ${result.finalLag}, scale-ins ${result.scaleInEvents}`,
  );
  if (result.lost > 0 || result.duplicated > 0 || result.oversold > 0 || result.finalLag !== 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (abort.signal.aborted) {
    console.error(`experiment: stopped by a signal; the run's namespace, processes, databases and topics are cleaned up`);
    process.exitCode = 130;
    return;
  }
  if (e instanceof ClusterUnavailableError || e instanceof InfraUnavailableError) console.error(`experiment: ${e.message}`);
  else console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 2;
});
