/**
 * The experiment runner with its real client (KubernetesClusterClient, @kubernetes/client-node) against the local
 * control plane of local/cluster.sh: a real API server validating TestRuns and ScaledObjects against their CRDs, the
 * real HPA and Deployment controllers, kwok making pods Ready. No k6-operator runs and KEDA is left out (see
 * installOrderConsumers): the test writes the status subresources they would write. Prometheus is not part of
 * these tests (see ClusterWithoutPrometheus). Each run works in a namespace of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { KUBECONFIG, ensureControlPlane, kubectlJson, kubectlRun } from '../../../test/k8s/support/local-cluster';
import { runExperiment, type ExperimentResult, type Sample } from '../experiment';
import { summary } from '../report';
import {
  ClusterWithoutPrometheus, DEPLOYMENT, HPA, createNamespace, deleteNamespace, ensureCrds, freshPods, holdHpaAt, installOrderConsumers,
  apply, kubeConfig, setScalerActive, setStage, synthesizedLoadTest, until, untilNodesStayReady, untilReady,
} from './real-cluster';

const SCENARIO = 'async-ramp';
const TESTRUN = `k6-${SCENARIO}`;
let ns: string;

beforeAll(() => {
  ensureControlPlane();
  ensureCrds();
  ns = createNamespace();
  installOrderConsumers(ns);
}, 120_000);

afterAll(() => {
  if (ns) deleteNamespace(ns);
});

/** Consecutive repeats collapsed: what a reader of the sample table sees change. */
const changes = <T>(values: readonly T[]): T[] => values.filter((v, i) => i === 0 || v !== values[i - 1]);

const testRunOnServer = () => kubectlJson(['-n', ns, 'get', 'testrun', TESTRUN]);
const configMapData = () => kubectlJson(['-n', ns, 'get', 'configmap', 'eshop-k6-scripts'])['data'] as Record<string, string>;

it('replaces what an earlier run left (stale scripts, a finished TestRun of the same name) and counts a TestRun removed by cleanup: post as finished', async () => {
  const { testRun, scripts } = synthesizedLoadTest(ns, SCENARIO);
  kubectlRun(['-n', ns, 'delete', 'testrun', TESTRUN, '--ignore-not-found']);
  apply(ns, [{ ...scripts, data: { [`${SCENARIO}.js`]: '// an older script' } }, testRun]);
  setStage(ns, TESTRUN, 'finished');
  const earlier = testRunOnServer().metadata['uid'] as string;

  const client = new ClusterWithoutPrometheus(kubeConfig());
  client.metrics = { lag: 0 };
  const run = runExperiment({ client, namespace: ns, scenario: SCENARIO, testRun, scripts, testId: `${SCENARIO}-again`, intervalSeconds: 1, timeoutSeconds: 30 });
  await client.nextSample(run);
  expect(testRunOnServer().metadata['uid']).not.toBe(earlier);
  expect(configMapData()).toEqual(scripts['data']);
  setStage(ns, TESTRUN, 'started');
  await client.nextSample(run);
  kubectlRun(['-n', ns, 'delete', 'testrun', TESTRUN]);
  const result = await run;

  expect(changes(result.samples.map((s) => s.stage))).toEqual([null, 'started', null]);
  expect(result).toMatchObject({ outcome: 'drained', finalStage: 'finished (deleted by cleanup: post)', testEndedAt: result.samples.at(-1)!.t });
}, 60_000);

it('refuses a manifest synthesized for another namespace with the API server’s reason, before any TestRun is created', async () => {
  const elsewhere = synthesizedLoadTest('eshop', SCENARIO);
  kubectlRun(['-n', ns, 'delete', 'testrun', TESTRUN, '--ignore-not-found']);
  const client = new ClusterWithoutPrometheus(kubeConfig());
  await expect(runExperiment({ client, namespace: ns, scenario: SCENARIO, testRun: elsewhere.testRun, scripts: elsewhere.scripts, testId: 'x', intervalSeconds: 1, timeoutSeconds: 5 }))
    .rejects.toThrow(/the namespace of the provided object does not match the namespace sent on the request/);
  expect(kubectlRun(['-n', ns, 'get', 'testrun', TESTRUN]).stderr).toMatch(/NotFound/);
});

describe('npm run experiment (the CLI on Node 24, client-node loaded through require(esm))', () => {
  it('on a cluster without k6-operator the TestRun never starts: it times out, exits 1 and writes a report that says so', async () => {
    const asked: string[] = [];
    // Prometheus stand-in: every query has an empty result, as a Prometheus with no series would answer.
    const dir = mkdtempSync(path.join(tmpdir(), 'experiment-cli-'));
    const prometheus = createServer((req, res) => {
      asked.push(new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '');
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
    });
    await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
    try {
      const manifest = path.join(dir, 'eshop-loadtests.k8s.yaml');
      writeFileSync(manifest, synthesizedLoadTest(ns, SCENARIO).all.map((d) => stringify(d)).join('---\n'));
      const out = path.join(dir, 'report');
      const root = path.resolve(__dirname, '../../..');
      const args = ['-r', path.join(root, 'test/k8s/support/register-ts.js'), path.join(root, 'loadtests/experiment/cli.ts'),
        '--scenario', SCENARIO, '--namespace', ns, '--manifest', manifest, '--out', out,
        '--prometheus', `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`, '--interval', '1', '--timeout', '2'];
      const cli = spawn(path.join(root, 'node_modules/.bin/node'), args, { cwd: root, env: { ...process.env, KUBECONFIG } });
      let stdout = '';
      let stderr = '';
      cli.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
      cli.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
      const code = await new Promise<number | null>((r) => cli.on('close', r));

      expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
      const testId = /TestRun \S+ created, testid=(\S+)/.exec(stdout)?.[1];
      expect(testId).toMatch(/^async-ramp-\d{8}T\d{6}$/);
      expect(stdout).toContain(`TestRun ${ns}/${TESTRUN} created, testid=${testId}`);
      expect(testRunOnServer()['spec'].arguments).toBe(`-o experimental-prometheus-rw --tag testid=${testId}`);
      expect(readdirSync(out).sort()).toEqual(['README.md', 'lag.svg', 'load.svg', 'p95.svg', 'replicas.svg', 'samples.json']);
      const samples = JSON.parse(readFileSync(path.join(out, 'samples.json'), 'utf8')) as ExperimentResult;
      expect(samples).toMatchObject({ outcome: 'timeout', finalStage: null, drainedAt: null });
      expect(samples.samples.map((s) => [s.stage, s.lag])).toEqual(samples.samples.map(() => [null, null]));
      expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/\*\*Outcome: timed out before the test ended and the lag drained\.\*\*/);
      expect(new Set(asked)).toEqual(new Set(Object.values(samples.queries)));
    } finally {
      prometheus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a run while the order consumers scale', () => {
  let result: ExperimentResult;
  let testId: string;

  beforeAll(() => untilNodesStayReady(30), 90_000);

  beforeAll(async () => {
    await freshPods(ns);
    const { testRun, scripts } = synthesizedLoadTest(ns, SCENARIO);
    testId = `${SCENARIO}-${ns}`;
    const client = new ClusterWithoutPrometheus(kubeConfig());
    client.metrics = { lag: 0 };
    const run = runExperiment({ client, namespace: ns, scenario: SCENARIO, testRun, scripts, testId, intervalSeconds: 1, timeoutSeconds: 45 });

    // Created, not picked up yet: a fresh TestRun has no status.
    await client.nextSample(run);
    setStage(ns, TESTRUN, 'initialization');
    await client.nextSample(run);
    // k6 runs: requests flow, orders pile up in Kafka, KEDA activates and the HPA scales the consumers to 3.
    client.metrics = { lag: 400, requestRate: 200, p95: 0.05 };
    setStage(ns, TESTRUN, 'started');
    setScalerActive(ns, true);
    holdHpaAt(ns, 3);
    await untilReady(ns, 3);
    await client.nextSample(run);
    // The test is over; a backlog is left and the consumers come down to 2 while they drain it.
    client.metrics = { lag: 150 };
    setStage(ns, TESTRUN, 'finished');
    holdHpaAt(ns, 2);
    await untilReady(ns, 2);
    await client.nextSample(run);
    client.metrics = { lag: 0 };
    result = await run;
  }, 60_000);

  const before = (stage: string) => result.samples.slice(0, result.samples.findIndex((s) => s.stage === stage));
  const withStage = (stage: string) => result.samples.filter((s) => s.stage === stage);

  it('stops once the TestRun finished and the lag drained, and reports it so', () => {
    expect(result).toMatchObject({ outcome: 'drained', finalStage: 'finished', namespace: ns, testRun: TESTRUN });
    expect(result.testEndedAt).toBe(withStage('finished')[0]!.t);
    expect(result.drainedAt).toBe(result.samples.at(-1)!.t);
    expect(result.samples.at(-1)).toMatchObject({ stage: 'finished', lag: 0 });
    expect(summary(result)).toMatch(/\*\*Outcome: the test ended and the lag drained\.\*\*/);
  });

  it('records the stages k6-operator writes, in order, from a fresh TestRun without any', () => {
    expect(changes(result.samples.map((s) => s.stage))).toEqual([null, 'initialization', 'started', 'finished']);
  });

  it('keeps sampling after the run finished while the lag is above the threshold', () => {
    expect(withStage('finished').filter((s) => s.lag === 150).length).toBeGreaterThanOrEqual(1);
  });

  it('records the replicas the real HPA controller scaled the Deployment to, and what the HPA reports as desired', () => {
    // Before the test, the Deployment runs its one replica; the HPA, without its external metric, never computed a count.
    expect(before('started').map((s) => [s.replicasReady, s.replicasDesired, s.hpaDesired])).toEqual(before('started').map(() => [1, 1, 0]));
    expect(withStage('started')).toContainEqual(expect.objectContaining<Partial<Sample>>({ replicasReady: 3, replicasDesired: 3, hpaDesired: 3 }));
    expect(Math.max(...result.samples.map((s) => s.replicasReady ?? 0))).toBe(3);
    expect(result.samples.at(-1)).toMatchObject({ replicasReady: 2, replicasDesired: 2, hpaDesired: 2 });
    expect(summary(result)).toMatch(/\| peak order-consumer replicas \(ready\) \| 3 \(first at \d+m\d\ds\) \|/);
  });

  it('records the ScaledObject’s Active condition: inactive until the test started, then active', () => {
    expect(changes(result.samples.map((s) => s.scalerActive))).toEqual([false, true]);
    expect(before('started').map((s) => s.scalerActive)).toEqual(before('started').map(() => false));
  });

  it('created the TestRun in the namespace with this run’s testid, and the synthesized scripts next to it', () => {
    const { scripts } = synthesizedLoadTest(ns, SCENARIO);
    const spec = testRunOnServer()['spec'];
    expect(spec.arguments).toBe(`-o experimental-prometheus-rw --tag testid=${testId}`);
    expect(spec.runner.env).toContainEqual({ name: 'TEST_ID', value: testId });
    expect(spec.script).toEqual({ configMap: { name: 'eshop-k6-scripts', file: `${SCENARIO}.js` } });
    expect(configMapData()).toEqual(scripts['data']);
  });

  it('the autoscaler read is the HPA that targets the Deployment, with the real controller’s current replicas', async () => {
    await until('the HPA controller counting 2 current replicas', () => (kubectlJson(['-n', ns, 'get', 'hpa', HPA])['status']?.currentReplicas === 2 ? true : undefined));
    await expect(new ClusterWithoutPrometheus(kubeConfig()).autoscaler(ns, DEPLOYMENT)).resolves.toEqual({ name: HPA, currentReplicas: 2, desiredReplicas: 2, active: true });
  });
});
