/**
 * The autoscaling loop, short, for real: async orders through the gateway build lag on the local Kafka; the real
 * KEDA (operator + metrics API server) reports it through the aggregation layer; the real HPA controller scales the
 * order-consumer Deployment above one replica; the real scheduler binds the new pods to the local node, where the
 * node agent runs them as real order-consumer processes; they drain the lag to 0; the HPA scales back in. One
 * consumer pod is deleted mid-drain (as `kubectl delete pod` would) and scale-in stops others while messages are
 * in flight: every accepted order must reach exactly one decision, stock arithmetic exact, nothing dead-lettered.
 * Assertions are on what the API server, the broker and the databases say, never on timings.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../bench/stack';
import { runAutoscalingExperiment, type AutoscalingResult } from '../experiment';

jest.setTimeout(12 * 60_000);

let result: AutoscalingResult;

beforeAll(async () => {
  // The shared local control plane with KEDA (a no-op when it runs, as in CI).
  const up = spawnSync('bash', [path.join(REPO_ROOT, 'local/cluster.sh'), 'up', '--no-deploy'], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`local/cluster.sh up failed:\n${up.stderr}`);
  result = await runAutoscalingExperiment({
    orders: 3000,
    connections: 16,
    products: 10,
    stockPerProduct: 100_000,
    // Lower than the app's 100, so a burst this short still asks for more than one consumer; max 3 of 12 partitions.
    lagThreshold: '50',
    maxReplicas: 3,
    pollingIntervalSeconds: 2,
    scaleDownStabilizationSeconds: 10,
    deletePodAtReplicas: 2,
    timeoutSeconds: 420,
    prometheus: false,
    workRoot: path.join(REPO_ROOT, '.local/autoscaling-test'),
    log: () => undefined,
  });
});

it('the HPA KEDA drives scales the consumers above one replica on the lag, and real processes follow the pods', () => {
  expect(result.maxDesiredReplicas).toBeGreaterThan(1);
  expect(Math.max(...result.samples.map((s) => s.readyPods))).toBeGreaterThan(1);
  expect(Math.max(...result.samples.map((s) => s.processes))).toBeGreaterThan(1);
  // KEDA's metric, as the HPA status shows it, went over the threshold while the broker's lag did.
  expect(Math.max(...result.samples.map((s) => s.kedaMetric ?? 0))).toBeGreaterThan(Number(result.settings.lagThreshold));
  expect(result.events.filter((e) => e.kind === 'scale-up').length).toBeGreaterThan(0);
});

it('the consumers drain the lag to 0 and the HPA scales back in to the minimum', () => {
  expect(result.finalLag).toBe(0);
  expect(result.scaleInEvents).toBeGreaterThan(0);
  const last = result.samples.at(-1)!;
  expect({ desired: last.hpaDesired, ready: last.readyPods, processes: last.processes }).toEqual({ desired: 1, ready: 1, processes: 1 });
});

it('a pod deleted mid-drain and pods removed by scale-in lose nothing and decide nothing twice', () => {
  expect(result.events.some((e) => e.kind === 'pod-deleted')).toBe(true);
  expect(result.events.filter((e) => e.kind === 'consumer-stopped').length).toBeGreaterThanOrEqual(2);
  expect(result.accepted).toBe(result.settings.orders);
  expect({ decided: result.decided, lost: result.lost, duplicated: result.duplicated, oversold: result.oversold, deadLettered: result.deadLettered }).toEqual({
    decided: result.accepted, lost: 0, duplicated: 0, oversold: 0, deadLettered: 0,
  });
  // Each decision published exactly once (the duplicate check reads these events).
  expect(result.decisionEvents).toBe(result.decided);
  expect(result.stock.consistent).toBe(true);
  expect(result.stock.initial - result.stock.remaining).toBe(result.accepted);
});

it('refuses to start, with one line naming what to run, when the cluster is not there', () => {
  const cli = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', '-r', path.join(REPO_ROOT, 'test/k8s/support/register-ts.js'), path.join(REPO_ROOT, 'loadtests/autoscaling/cli.ts')], {
    encoding: 'utf8',
    env: { ...process.env, ESHOP_KUBECONFIG: '/nonexistent/kubeconfig' },
    timeout: 60_000,
  });
  expect(cli.status).toBe(2);
  expect(cli.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^experiment: the local Kubernetes control plane is not set up .*: start it with: local\/platform.sh cluster up$/)]);
});
