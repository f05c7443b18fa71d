import path from 'node:path';
import { checkPolicies, formatViolation } from './support/policies';
import { ENVIRONMENTS, ROOT, synthApp } from './support/render';
import { trafficAllowed } from './support/cross-layer';
import { formatError, validateAll, type Manifest } from './support/schema-validator';

/** The k6 load tests (cdk8s/src/synth.ts synthLoadTests, `dist/loadtests/<env>/`), loaded like synthApp. */
function synthLoadTests(env: string): Manifest[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path.join(ROOT, 'cdk8s/src/synth.ts')) as { synthLoadTests: (env: string, o?: unknown, e?: NodeJS.ProcessEnv) => Manifest[] };
  return mod.synthLoadTests(env, undefined, {});
}

describe.each(ENVIRONMENTS)('k6 load tests, environment %s', (env) => {
  const docs = synthLoadTests(env);

  it('every TestRun is strictly valid against the pinned k6-operator 1.6.0 CRD, the ConfigMap against Kubernetes', () => {
    expect(docs.filter((d) => d['kind'] === 'TestRun')).toHaveLength(5);
    expect(validateAll(docs).map(formatError)).toEqual([]);
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
});
