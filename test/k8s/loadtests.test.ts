import path from 'node:path';
import { checkPolicies, formatViolation } from './support/policies';
import { ENVIRONMENTS, platformScenarioFor, renderPlatform, ROOT, synthApp } from './support/render';
import { trafficAllowed } from './support/cross-layer';
import type { Manifest } from './support/render';
import { formatServerError, validateOnServer } from './support/server-validation';

/** The k6 load tests (cdk8s/src/synth.ts synthLoadTests, `dist/loadtests/<env>/`), loaded like synthApp. */
function synthLoadTests(env: string): Manifest[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(ROOT, 'cdk8s/src/synth.ts')) as { synthLoadTests: (env: string, o?: unknown, e?: NodeJS.ProcessEnv) => Manifest[] };
  return mod.synthLoadTests(env, undefined, {});
}

describe.each(ENVIRONMENTS)('k6 load tests, environment %s', (env) => {
  const docs = synthLoadTests(env);

  it('every TestRun and the ConfigMap are accepted by the API server (strict dry run; the pinned k6-operator 1.6.0 CRD)', () => {
    expect(docs.filter((d) => d['kind'] === 'TestRun')).toHaveLength(5);
    expect(validateOnServer(docs).map(formatServerError)).toEqual([]);
  });

  it("the app's NetworkPolicies let the runner pods reach the gateway, and only the gateway", () => {
    const app = synthApp(env);
    const runner = docs.find((d) => d['kind'] === 'TestRun')!;
    const labels = ((runner['spec'] as { runner: { metadata: { labels: Record<string, string> } } }).runner.metadata.labels);
    const from = { labels, namespace: 'eshop' };
    const pod = (name: string) => ({ labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'eshop', 'app.kubernetes.io/managed-by': 'cdk8s' }, namespace: 'eshop' });
    // The policies name the container port (`http`) and the model compares ports literally.
    const http = 'http' as unknown as number;
    expect(trafficAllowed(app, from, pod('gateway'), http)).toBe(true);
    expect(trafficAllowed(app, from, pod('order-api'), http)).toBe(false);
  });

  it('passes the policy checks together with the app', () => {
    expect(checkPolicies([...synthApp(env), ...docs]).violations.map(formatViolation)).toEqual([]);
  });

  it("the runners' credentials are references the platform render resolves (eks: the hand-made token Secret aside)", () => {
    const platform = renderPlatform(platformScenarioFor(env)).docs;
    const keysOf = (kind: string, name: string) => {
      const doc = platform.find((d) => d['kind'] === kind && (d['metadata'] as { name: string }).name === name);
      return doc ? Object.keys(doc['data'] as Record<string, string>) : undefined;
    };
    const missing: string[] = [];
    let resolved = 0;
    for (const run of docs.filter((d) => d['kind'] === 'TestRun')) {
      for (const e of (run['spec'] as { runner: { env: { name: string; valueFrom?: Record<string, { name: string; key: string }> }[] } }).runner.env) {
        for (const [refKind, kind] of [['secretKeyRef', 'Secret'], ['configMapKeyRef', 'ConfigMap']] as const) {
          const ref = e.valueFrom?.[refKind];
          if (!ref || ref.name === 'eshop-loadtest-token') continue;
          if (keysOf(kind, ref.name)?.includes(ref.key)) resolved += 1;
          else missing.push(`${e.name}: ${kind} ${ref.name} key ${ref.key}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(resolved).toBeGreaterThanOrEqual(5);
  });
});

/** Requests per second one runner pod sends at the scenario's peak (k6 splits arrival rates over the runners). */
function peakPerRunner(scenario: string, loadFactor: number, parallelism: number): number {
  (globalThis as { __ENV?: Record<string, string> }).__ENV = { LOAD_FACTOR: String(loadFactor) };
  let script: { options: { scenarios: Record<string, { rate?: number; startRate?: number; stages?: { target: number }[] }> }; REQUESTS_PER_ITERATION?: number } | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    script = require(path.join(ROOT, 'loadtests/k6', `${scenario}.ts`));
  });
  const rates = Object.values(script!.options.scenarios).flatMap((s) => [s.rate ?? 0, s.startRate ?? 0, ...(s.stages ?? []).map((st) => st.target)]);
  return (Math.max(...rates) * (script!.REQUESTS_PER_ITERATION ?? 1)) / parallelism;
}

/** A k6 runner is one pod IP; its requests all count against the gateway's per-IP limit. */
describe("the gateway's rate limits and the k6 scenarios", () => {
  const limitsOf = (app: Manifest[]) => {
    const data = app.find((d) => d['kind'] === 'ConfigMap' && (d['metadata'] as { name: string }).name === 'gateway')!['data'] as Record<string, string>;
    const perSecond = (n: string) => (Number(n) === 0 ? Infinity : (Number(n) * 1000) / Number(data['RATE_LIMIT_WINDOW_MS']));
    return { perIp: perSecond(data['RATE_LIMIT_PER_IP']!), perIdentity: perSecond(data['RATE_LIMIT_PER_IDENTITY']!) };
  };
  const runs = (env: 'kind' | 'eks', processEnv: NodeJS.ProcessEnv = {}) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(ROOT, 'cdk8s/src/synth.ts')) as { synthLoadTests: (e: string, o?: unknown, p?: NodeJS.ProcessEnv) => Manifest[] };
    return mod.synthLoadTests(env, undefined, processEnv).filter((d) => d['kind'] === 'TestRun').map((r) => {
      const spec = r['spec'] as { parallelism: number; runner: { env: { name: string; value?: string }[] } };
      const scenario = (r['metadata'] as { name: string }).name.replace(/^k6-/, '');
      const loadFactor = Number(spec.runner.env.find((e) => e.name === 'LOAD_FACTOR')!.value);
      return { scenario, perRunner: peakPerRunner(scenario, loadFactor, spec.parallelism), total: peakPerRunner(scenario, loadFactor, 1) };
    });
  };

  it('kind admits every scenario from one runner with a quarter to spare', () => {
    const { perIp } = limitsOf(synthApp('kind'));
    const tight = runs('kind').filter((r) => r.perRunner * 1.25 > perIp).map((r) => `${r.scenario}: ${r.perRunner} req/s per runner vs ${perIp}/s per IP`);
    expect(tight).toEqual([]);
    expect(Math.max(...runs('kind').map((r) => r.perRunner))).toBe(300); // the flash sale, the figure the kind limit is sized on
  });

  it('eks keeps production limits, which an experiment with one passed-in token would hit; the documented overrides admit it', () => {
    const throttled = (limits: { perIp: number; perIdentity: number }, env: NodeJS.ProcessEnv) =>
      runs('eks', env).filter((r) => r.perRunner > limits.perIp || r.total > limits.perIdentity).map((r) => r.scenario);
    expect(throttled(limitsOf(synthApp('eks')), {})).toEqual(expect.arrayContaining(['flash-sale', 'async-ramp']));
    // docs/performance/README.md: ESHOP_RATE_LIMIT_PER_IP=60000 ESHOP_RATE_LIMIT_PER_IDENTITY=0 for the run.
    const overrides = { ESHOP_RATE_LIMIT_PER_IP: '60000', ESHOP_RATE_LIMIT_PER_IDENTITY: '0' };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(ROOT, 'cdk8s/src/synth.ts')) as { synthEnvironment: (e: string, o?: unknown, p?: NodeJS.ProcessEnv) => Manifest[] };
    expect(throttled(limitsOf(mod.synthEnvironment('eks', undefined, overrides)), overrides)).toEqual([]);
  });
});
