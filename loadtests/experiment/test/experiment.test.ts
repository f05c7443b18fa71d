import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AutoscalerStatus, ClusterClient, Manifest, ReplicaStatus } from '../cluster-client';
import { LAG_QUERY, runExperiment, withTestId, type ExperimentResult } from '../experiment';
import { prometheusQuery } from '../prometheus';
import { summary, writeReport } from '../report';

/**
 * What a real cluster cannot show in a test's time: an hour of the runner's default 10-s sampling. The real-server
 * behaviour (TestRun stages, replicas, the HPA, the ScaledObject, the CLI) is in experiment-on-cluster.test.ts; here
 * a scripted cluster on a simulated clock checks the timing arithmetic to the second. One tick per sample: the
 * TestRun runs for `testTicks` samples and the autoscaler follows the lag (one replica per 100, 1 to 4).
 */
class ScriptedCluster implements ClusterClient {
  tick = 0;
  constructor(private readonly lag: (tick: number) => number, private readonly testTicks: number) {}

  private replicas(): number {
    return Math.min(4, Math.max(1, Math.ceil(this.lag(this.tick) / 100)));
  }
  async applyConfigMap() {}
  async deleteTestRun() {}
  async createTestRun() {}
  async testRunStage() { return this.tick < this.testTicks ? 'started' : 'finished'; }
  async deploymentReplicas(): Promise<ReplicaStatus> { return { desired: this.replicas(), ready: this.replicas() }; }
  async autoscaler(): Promise<AutoscalerStatus> {
    return { name: 'keda-hpa-order-consumer', currentReplicas: this.replicas(), desiredReplicas: this.replicas(), active: this.lag(this.tick) > 10 };
  }
  async query(q: string) {
    if (q === LAG_QUERY) return this.lag(this.tick);
    if (q.startsWith('sum(rate(k6_http_reqs_total')) return this.tick < this.testTicks ? 200 : undefined;
    if (q.startsWith('max(k6_http_req_duration_p95')) return this.tick < this.testTicks ? 0.05 + (this.tick % 60) * 0.001 : undefined;
    throw new Error(`unexpected query ${q}`);
  }
}

const TEST_RUN: Manifest = {
  apiVersion: 'k6.io/v1alpha1', kind: 'TestRun', metadata: { name: 'k6-async-ramp', namespace: 'eshop' },
  spec: { parallelism: 1, arguments: '-o experimental-prometheus-rw --tag testid=async-ramp', runner: { env: [{ name: 'BASE_URL', value: 'x' }, { name: 'TEST_ID', value: 'async-ramp' }] } },
} as Manifest;

/** A 30-minute test (180 samples): lag +10 per sample up to 1200; after the test -20 per sample, 0 at 40 minutes. */
const hourLag = (tick: number) => (tick < 180 ? Math.min(1200, tick * 10) : Math.max(0, 1200 - (tick - 180) * 20));

/** Default interval (10 s) and timeout (3600 s) on a simulated clock. */
function run(cluster: ScriptedCluster): Promise<ExperimentResult> {
  let clock = 0;
  return runExperiment({
    client: cluster, namespace: 'eshop', scenario: 'async-ramp', testRun: TEST_RUN, testId: 'async-ramp-1',
    now: () => clock,
    sleep: async (ms) => { clock += ms; cluster.tick++; },
  });
}

it('over 40 minutes of 10-s samples: ends at the first sample with the test finished and lag drained, 10 minutes after the test', async () => {
  const result = await run(new ScriptedCluster(hourLag, 180));

  expect(result).toMatchObject({ outcome: 'drained', finalStage: 'finished', testEndedAt: 1800, drainedAt: 2400 });
  expect(result.samples).toHaveLength(241);
  expect(result.samples.map((s) => s.t)).toEqual(result.samples.map((_, i) => i * 10));
  expect(result.samples.find((s) => s.replicasReady === 4)!.t).toBe(310);
  expect(result.samples.at(-1)).toMatchObject({ t: 2400, lag: 0, replicasReady: 1, requestRate: null, p95: null, scalerActive: false });
});

it('writes samples.json, a summary with the drain time and the peaks, and four plots of at most 20 points', async () => {
  const result = await run(new ScriptedCluster(hourLag, 180));
  const dir = mkdtempSync(path.join(tmpdir(), 'experiment-'));
  writeReport(dir, result);

  expect(readdirSync(dir).sort()).toEqual(['README.md', 'lag.svg', 'load.svg', 'p95.svg', 'replicas.svg', 'samples.json']);
  expect(JSON.parse(readFileSync(path.join(dir, 'samples.json'), 'utf8'))).toEqual(result);
  const md = readFileSync(path.join(dir, 'README.md'), 'utf8');
  expect(md).toMatch(/\*\*Outcome: the test ended and the lag drained\.\*\*/);
  expect(md).toMatch(/\| TestRun final stage \| finished at 30m00s \|/);
  expect(md).toMatch(/\| lag drained \| at 40m00s \(600 s after the test ended\) \|/);
  expect(md).toMatch(/\| peak consumer lag \| 1200 messages \|/);
  expect(md).toMatch(/\| peak order-consumer replicas \(ready\) \| 4 \(first at 5m10s\) \|/);
  expect(md).toMatch(/\| replicas at the end \| 1 \|/);
  expect(md).toMatch(/\| worst k6 p95 \| 109\.0 ms \|/);
  for (const svg of ['lag.svg', 'load.svg', 'p95.svg', 'replicas.svg']) {
    const text = readFileSync(path.join(dir, svg), 'utf8');
    expect(text).toMatch(/^<svg[\s\S]*async-ramp-1[\s\S]*<\/svg>\n$/);
    // 241 samples in groups of 13: 19 points, labelled with the time each group starts.
    const labels = [...text.matchAll(/fill="#444">(\d+m\d\ds)<\/text>/g)].map((m) => m[1]);
    expect(labels).toHaveLength(19);
    expect([labels[0], labels[1], labels.at(-1)]).toEqual(['0m00s', '2m10s', '39m00s']);
  }
});

it('gives up after the default hour when the test finished but the lag never drains, and says so', async () => {
  const result = await run(new ScriptedCluster(() => 5000, 3));

  expect(result).toMatchObject({ outcome: 'timeout', finalStage: 'finished', testEndedAt: 30, drainedAt: null });
  expect(result.samples.at(-1)!.t).toBe(3600);
  expect(summary(result)).toMatch(/Outcome: timed out before the test ended and the lag drained/);
  expect(summary(result)).toMatch(/\| lag drained \| no \|/);
});

it('withTestId sets this run’s testid in the arguments and TEST_ID, appends the tag when missing, and leaves its input untouched', () => {
  const spec = withTestId(TEST_RUN, 'async-ramp-1')['spec'] as { arguments: string; runner: { env: { name: string; value: string }[] } };
  expect(spec.arguments).toBe('-o experimental-prometheus-rw --tag testid=async-ramp-1');
  expect(spec.runner.env).toEqual([{ name: 'BASE_URL', value: 'x' }, { name: 'TEST_ID', value: 'async-ramp-1' }]);
  expect((TEST_RUN['spec'] as { arguments: string }).arguments).toMatch(/testid=async-ramp$/);
  expect((withTestId({ ...TEST_RUN, spec: {} } as Manifest, 'x')['spec'] as { arguments: string }).arguments).toBe('--tag testid=x');
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
