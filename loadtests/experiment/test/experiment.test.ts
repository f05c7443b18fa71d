import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AutoscalerStatus, ClusterClient, Manifest, ReplicaStatus } from '../cluster-client';
import { LAG_QUERY, runExperiment, withTestId, type ExperimentResult } from '../experiment';
import { prometheusQuery } from '../prometheus';
import { summary, writeReport } from '../report';

/**
 * A scripted cluster: the TestRun runs for `testTicks` samples, lag climbs to a peak and drains, the
 * autoscaler follows the lag 1 → 4 → 1. One tick per sample; `calls` records what the runner asked for.
 */
class ScriptedCluster implements ClusterClient {
  tick = 0;
  readonly calls: string[] = [];
  created?: Manifest;
  constructor(private readonly lag: (tick: number) => number, private readonly testTicks: number, private readonly deleteWhenDone = false) {}

  private replicas(): number {
    return Math.min(4, Math.max(1, Math.ceil(this.lag(this.tick) / 100)));
  }
  async applyConfigMap(_ns: string, m: Manifest) { this.calls.push(`apply ConfigMap/${m.metadata.name}`); }
  async deleteTestRun(_ns: string, name: string) { this.calls.push(`delete TestRun/${name}`); }
  async createTestRun(_ns: string, m: Manifest) { this.calls.push(`create TestRun/${m.metadata.name}`); this.created = m; }
  async testRunStage() {
    if (this.tick < this.testTicks) return this.tick === 0 ? 'initialization' : 'started';
    return this.deleteWhenDone ? undefined : 'finished';
  }
  async deploymentReplicas(): Promise<ReplicaStatus> { return { desired: this.replicas(), ready: this.replicas() }; }
  async autoscaler(): Promise<AutoscalerStatus> {
    return { name: 'keda-hpa-order-consumer', currentReplicas: this.replicas(), desiredReplicas: this.replicas(), active: this.lag(this.tick) > 10 };
  }
  async query(q: string) {
    if (q === LAG_QUERY) return this.lag(this.tick);
    if (q.startsWith('sum(rate(k6_http_reqs_total')) return this.tick < this.testTicks ? 200 : undefined;
    if (q.startsWith('max(k6_http_req_duration_p95')) return this.tick < this.testTicks ? 0.05 + this.tick * 0.001 : undefined;
    throw new Error(`unexpected query ${q}`);
  }
}

const TEST_RUN: Manifest = {
  apiVersion: 'k6.io/v1alpha1', kind: 'TestRun', metadata: { name: 'k6-async-ramp', namespace: 'eshop' },
  spec: { parallelism: 1, arguments: '-o experimental-prometheus-rw --tag testid=async-ramp', runner: { env: [{ name: 'BASE_URL', value: 'x' }, { name: 'TEST_ID', value: 'async-ramp' }] } },
} as Manifest;
const SCRIPTS = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'eshop-k6-scripts' } } as Manifest;

/** Lag over ticks: up by 100 per tick to 400 while the test runs (ticks 0-5), then down by 100 per tick. */
const rampLag = (tick: number) => (tick <= 5 ? Math.min(400, tick * 100) : Math.max(0, 400 - (tick - 5) * 100));

function run(cluster: ScriptedCluster, timeoutSeconds = 3600): Promise<ExperimentResult> {
  let clock = 0;
  return runExperiment({
    client: cluster, namespace: 'eshop', scenario: 'async-ramp', testRun: TEST_RUN, scripts: SCRIPTS, testId: 'async-ramp-1',
    intervalSeconds: 10, timeoutSeconds, drainedLag: 10,
    now: () => clock,
    sleep: async (ms) => { clock += ms; cluster.tick++; },
  });
}

it('when the run ends and lag drains, it stops and reports replicas 1 → 4 → 1 and the drain time', async () => {
  const cluster = new ScriptedCluster(rampLag, 6);
  const result = await run(cluster);

  expect(cluster.calls).toEqual(['apply ConfigMap/eshop-k6-scripts', 'delete TestRun/k6-async-ramp', 'create TestRun/k6-async-ramp']);
  expect(result).toMatchObject({ outcome: 'drained', finalStage: 'finished', testEndedAt: 60, drainedAt: 90 });
  expect(result.samples.map((s) => s.lag)).toEqual([0, 100, 200, 300, 400, 400, 300, 200, 100, 0]);
  expect(result.samples.map((s) => s.replicasReady)).toEqual([1, 1, 2, 3, 4, 4, 3, 2, 1, 1]);
  expect(result.samples.at(-1)).toMatchObject({ t: 90, lag: 0, requestRate: null, p95: null, scalerActive: false });
});

it('keeps sampling after the test ends until the lag is at or below the threshold', async () => {
  const cluster = new ScriptedCluster(rampLag, 2);
  const result = await run(cluster);
  expect(result.testEndedAt).toBe(20);
  expect(result.drainedAt).toBe(90);
  expect(result.samples.filter((s) => s.stage === 'finished').length).toBe(8);
});

it('counts a TestRun deleted by cleanup: post as finished', async () => {
  const result = await run(new ScriptedCluster(rampLag, 6, true));
  expect(result).toMatchObject({ outcome: 'drained', finalStage: 'finished (deleted by cleanup: post)', testEndedAt: 60 });
});

it('gives up at the timeout when the lag never drains, and says so', async () => {
  const result = await run(new ScriptedCluster(() => 5000, 3), 120);
  expect(result).toMatchObject({ outcome: 'timeout', drainedAt: null, finalStage: 'finished' });
  expect(result.samples.at(-1)!.t).toBe(120);
  expect(summary(result)).toMatch(/Outcome: timed out before the test ended and the lag drained/);
});

it('creates the TestRun with this run’s testid in the arguments and TEST_ID, leaving the synthesized one untouched', async () => {
  const cluster = new ScriptedCluster(rampLag, 1);
  await run(cluster);
  const spec = cluster.created!['spec'] as { arguments: string; runner: { env: { name: string; value: string }[] } };
  expect(spec.arguments).toBe('-o experimental-prometheus-rw --tag testid=async-ramp-1');
  expect(spec.runner.env).toEqual([{ name: 'BASE_URL', value: 'x' }, { name: 'TEST_ID', value: 'async-ramp-1' }]);
  expect((TEST_RUN['spec'] as { arguments: string }).arguments).toMatch(/testid=async-ramp$/);
  expect((withTestId({ ...TEST_RUN, spec: {} } as Manifest, 'x')['spec'] as { arguments: string }).arguments).toBe('--tag testid=x');
});

it('writes samples.json, a markdown summary and four SVG plots', async () => {
  const result = await run(new ScriptedCluster(rampLag, 6));
  const dir = mkdtempSync(path.join(tmpdir(), 'experiment-'));
  writeReport(dir, result);
  expect(readdirSync(dir).sort()).toEqual(['README.md', 'lag.svg', 'load.svg', 'p95.svg', 'replicas.svg', 'samples.json']);
  expect(JSON.parse(readFileSync(path.join(dir, 'samples.json'), 'utf8'))).toEqual(result);
  const md = readFileSync(path.join(dir, 'README.md'), 'utf8');
  expect(md).toMatch(/\*\*Outcome: the test ended and the lag drained\.\*\*/);
  expect(md).toMatch(/\| lag drained \| at 1m30s \(30 s after the test ended\) \|/);
  expect(md).toMatch(/\| peak consumer lag \| 400 messages \|/);
  expect(md).toMatch(/\| peak order-consumer replicas \(ready\) \| 4 \(first at 0m40s\) \|/);
  expect(md).toMatch(/\| replicas at the end \| 1 \|/);
  expect(md).toMatch(/\| worst k6 p95 \| 55\.0 ms \|/);
  for (const svg of ['lag.svg', 'load.svg', 'p95.svg', 'replicas.svg']) {
    expect(readFileSync(path.join(dir, svg), 'utf8')).toMatch(/^<svg[\s\S]*async-ramp-1[\s\S]*<\/svg>\n$/);
  }
});

describe('prometheusQuery (recorded Prometheus HTTP API answers)', () => {
  const answer = (body: unknown, status = 200) => (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;

  it('sums a vector and returns undefined for an empty one', async () => {
    const vector = { status: 'success', data: { resultType: 'vector', result: [{ metric: { partition: '0' }, value: [1, '12'] }, { metric: { partition: '1' }, value: [1, '30'] }] } };
    await expect(prometheusQuery('http://p:9090/', LAG_QUERY, answer(vector))).resolves.toBe(42);
    await expect(prometheusQuery('http://p:9090', LAG_QUERY, answer({ status: 'success', data: { resultType: 'vector', result: [] } }))).resolves.toBeUndefined();
  });

  it('fails with the URL and the status on an HTTP error', async () => {
    await expect(prometheusQuery('http://p:9090', 'up', answer({ status: 'error', error: 'bad query' }, 400))).rejects.toThrow(/^Prometheus http:\/\/p:9090\/api\/v1\/query\?query=up: HTTP 400/);
  });
});

it('the real client (@kubernetes/client-node 2.x, ESM-only) loads on the repo\'s Node 24 through require(esm), as the CLI does', () => {
  // Not imported into this suite: `npx jest` may run on the machine's Node 20, where client-node 2.x cannot load at all.
  const node = path.resolve(__dirname, '../../../node_modules/.bin/node');
  const file = path.resolve(__dirname, '../kubernetes-client.ts');
  const register = path.resolve(__dirname, '../../../test/k8s/support/register-ts.js');
  const out = execFileSync(node, ['-r', register, '-e', `require(${JSON.stringify(file)}); console.log(typeof require('@kubernetes/client-node').KubeConfig)`], { encoding: 'utf8', cwd: path.dirname(file) });
  expect(out.trim()).toBe('function');
});
