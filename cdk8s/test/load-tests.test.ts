import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { K6Scripts, LoadTest, transpileK6Scripts } from '../src/constructs/load-test';
import { LOAD_TEST_SCENARIOS } from '../src/environments';
import { synthEnvironment, synthLoadTests } from '../src/synth';

type Obj = Record<string, any>;
const NO_ENV = {} as NodeJS.ProcessEnv;
const testRuns = (docs: Obj[]) => docs.filter(d => d.kind === 'TestRun');
/** The runner's literal variables (credentials come by reference, see refsOf). */
const envOf = (run: Obj) => Object.fromEntries(run.spec.runner.env.filter((e: Obj) => 'value' in e).map((e: { name: string; value: string }) => [e.name, e.value]));
const refsOf = (run: Obj) => Object.fromEntries(run.spec.runner.env.filter((e: Obj) => 'valueFrom' in e).map((e: Obj) => [e.name, e.valueFrom]));

describe.each(['kind', 'eks'] as const)('%s load tests', env => {
  const docs = synthLoadTests(env, undefined, NO_ENV) as Obj[];

  it('has one TestRun per scenario, each running its own script from the eshop-k6-scripts ConfigMap', () => {
    expect(testRuns(docs).map(r => r.metadata.name)).toEqual(LOAD_TEST_SCENARIOS.map(s => `k6-${s}`));
    const configMap = docs.find(d => d.kind === 'ConfigMap')!;
    expect(configMap.metadata).toMatchObject({ name: 'eshop-k6-scripts', namespace: 'eshop' });
    for (const run of testRuns(docs)) {
      const file = `${run.metadata.name.replace(/^k6-/, '')}.js`;
      expect(run.spec.script).toEqual({ configMap: { name: 'eshop-k6-scripts', file } });
      expect(Object.keys(configMap.data)).toContain(file);
      expect(run.spec.cleanup).toBe('post');
    }
  });

  it('writes to the Prometheus remote-write receiver with testid, p95/p99 trend stats, against the gateway Service', () => {
    for (const run of testRuns(docs)) {
      const scenario = run.metadata.name.replace(/^k6-/, '');
      expect(run.spec.arguments).toBe(`-o experimental-prometheus-rw --tag testid=${scenario}`);
      expect(envOf(run)).toEqual({
        BASE_URL: 'http://gateway.eshop.svc:8080',
        TEST_ID: scenario,
        LOAD_FACTOR: env === 'kind' ? '1' : '5',
        K6_PROMETHEUS_RW_SERVER_URL: 'http://kube-prometheus-stack-prometheus.eshop.svc:9090/api/v1/write',
        K6_PROMETHEUS_RW_TREND_STATS: 'p(95),p(99),min,max',
      });
    }
  });

  it('authenticates by reference only: kind mints with the local issuer key and settings, eks sends the token of Secret eshop-loadtest-token', () => {
    const expected = env === 'kind'
      ? {
        AUTH_JWT_SECRET: { secretKeyRef: { name: 'eshop-auth-local', key: 'jwt-secret' } },
        AUTH_JWT_ISSUER: { configMapKeyRef: { name: 'eshop-auth', key: 'issuer' } },
        AUTH_JWT_AUDIENCE: { configMapKeyRef: { name: 'eshop-auth', key: 'audience' } },
      }
      : {
        ACCESS_TOKEN: { secretKeyRef: { name: 'eshop-loadtest-token', key: 'token' } },
        AUTH_ROLES_CLAIM: { configMapKeyRef: { name: 'eshop-auth', key: 'roles-claim' } },
      };
    for (const run of testRuns(docs)) expect(refsOf(run)).toEqual(expected);
  });

  it('labels runner pods part-of eshop-loadtest and runs them non-root, read-only, with requests and limits', () => {
    for (const run of testRuns(docs)) {
      const { runner } = run.spec;
      expect(runner.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'eshop-loadtest', 'app.kubernetes.io/instance': run.metadata.name });
      expect(runner.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 12345, seccompProfile: { type: 'RuntimeDefault' } });
      expect(runner.containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(runner.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      for (const kind of ['requests', 'limits']) expect(Object.keys(runner.resources[kind]).sort()).toEqual(['cpu', 'memory']);
      expect(run.spec.initializer.securityContext.runAsNonRoot).toBe(true);
    }
  });

  it('sets parallelism per environment (eks spreads the autoscaling ramp over 4 runners)', () => {
    const parallelism = Object.fromEntries(testRuns(docs).map(r => [r.metadata.name, r.spec.parallelism]));
    expect(parallelism['k6-async-ramp']).toBe(env === 'kind' ? 1 : 4);
    expect(Math.min(...Object.values(parallelism) as number[])).toBeGreaterThanOrEqual(1);
  });

  it('is not part of the app synth, whose gateway policy admits the k6 runner pods', () => {
    const app = synthEnvironment(env, undefined, NO_ENV) as Obj[];
    expect(app.filter(d => ['TestRun', 'ConfigMap'].includes(d.kind) && /k6/.test(d.metadata.name))).toEqual([]);
    const gateway = app.find(d => d.kind === 'NetworkPolicy' && d.metadata.name === 'gateway')!;
    expect(gateway.spec.ingress).toContainEqual({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'eshop-loadtest' } } }],
      ports: [{ protocol: 'TCP', port: 'http' }],
    });
  });
});

it('ships the scripts as JavaScript with .js imports, types stripped', () => {
  const configMap = (synthLoadTests('kind', undefined, NO_ENV) as Obj[]).find(d => d.kind === 'ConfigMap')!;
  expect(Object.keys(configMap.data).sort()).toEqual(['common.js', ...LOAD_TEST_SCENARIOS.map(s => `${s}.js`)].sort());
  const ramp: string = configMap.data['async-ramp.js'];
  expect(ramp).toMatch(/from ["']\.\/common\.js["']/);
  expect(ramp).not.toMatch(/\.ts["']|type SeededProduct|: void/);
  expect(ramp).toMatch(/export const options/);
});

it('uses ESHOP_LOADTEST_ID as the testid of every TestRun and refuses one that is not a tag value', () => {
  const runs = testRuns(synthLoadTests('kind', undefined, { ESHOP_LOADTEST_ID: 'ramp-2026-11-30' }) as Obj[]);
  expect(runs.map(r => envOf(r)['TEST_ID'])).toEqual(runs.map(() => 'ramp-2026-11-30'));
  expect(() => synthLoadTests('kind', undefined, { ESHOP_LOADTEST_ID: 'a b' })).toThrow(/testId="a b": must be 1-63 characters/);
});

it('refuses parallelism 0, naming the scenario', () => {
  expect(() => synthLoadTests('eks', { loadTests: { parallelism: { 'catalog-browsing': 0, 'sync-orders': 1, 'async-orders': 1, 'flash-sale': 1, 'async-ramp': 1 } } }, NO_ENV))
    .toThrow('eks: loadTests.parallelism["catalog-browsing"]=0: must be an integer ≥ 1');
});

it('refuses a TestRun whose script is not in the ConfigMap, and a script that does not parse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k6-scripts-'));
  writeFileSync(join(dir, 'only.ts'), 'export const options = {};\n');
  const chart = new Chart(new App({ outdir: '/nonexistent' }), 'c');
  const scripts = new K6Scripts(chart, 'scripts', { name: 'x', scriptsDir: dir });
  expect(() => new LoadTest(chart, 'missing', {
    scenario: 'missing', scripts, parallelism: 1, baseUrl: 'http://g', testId: 't', loadFactor: 1,
    prometheusRemoteWriteUrl: 'http://p/api/v1/write', podLabels: {},
    resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
  })).toThrow('load test missing: script missing.js is not in ConfigMap x (only.js)');
  writeFileSync(join(dir, 'broken.ts'), 'export const = ;\n');
  expect(() => transpileK6Scripts(dir)).toThrow(/^broken\.ts: /);
});
