import { checkAutoscalingAgreement, checkCrossLayer } from './support/cross-layer';
import { checkPolicies, formatViolation, nameOf, namespaceOf } from './support/policies';
import { ENVIRONMENTS, platformScenarioFor, platformScenarios, platformValues, renderPlatform, synthApp, type Environment, type Manifest, type PlatformScenario } from './support/render';

/**
 * The two layers together, per environment (kind app ↔ ci/kind platform scenario on values-kind.yaml, eks ↔ eks):
 * what the app references (bootstrap servers, topics, consumer group, DB host, secrets, network paths) is
 * read from the platform render itself, not from a shared constant.
 */
interface Pairing {
  label: string;
  env: Environment;
  overrides?: unknown;
  scenario: () => PlatformScenario;
}
const pairings: Pairing[] = [
  ...ENVIRONMENTS.map((env) => ({ label: env, env, scenario: () => platformScenarioFor(env) })),
  {
    label: 'kind with hpa-external consumer autoscaling',
    env: 'kind',
    overrides: { orderConsumer: { autoscaling: { mode: 'hpa-external' } } },
    scenario: () => {
      const s = platformScenarios().find((p) => p.name === 'hpa-external');
      if (!s) throw new Error('no ci/hpa-external-values.yaml scenario in the platform chart');
      return s;
    },
  },
];

describe.each(pairings)('app and platform together: $label', ({ env, overrides, scenario }) => {
  let app: Manifest[];
  let platform: Manifest[];
  let values: unknown;
  beforeAll(() => {
    app = synthApp(env, overrides);
    platform = renderPlatform(scenario()).docs;
    values = platformValues(scenario());
  });

  it('the platform values expect the consumer autoscaling the app renders (mode, ceiling, KEDA or prometheus-adapter)', () => {
    expect(checkAutoscalingAgreement(app, values)).toEqual([]);
  });

  it('the app references exactly the Kafka bootstrap, topics, consumer group, DB host, secrets and ports the platform defines', () => {
    const report = checkCrossLayer(app, platform);
    expect(report.problems).toEqual([]);
    // Not vacuous: product, order-api and order-consumer all reach Kafka and MySQL; one consumer group is scaled on.
    const { checked } = report;
    expect(checked['consumer-group']).toBe(1);
    const thin = ['kafka-bootstrap', 'kafka-topic', 'db-host', 'network-kafka', 'network-mysql', 'referenced-keys'].filter((c) => (checked[c] ?? 0) < 3);
    expect(thin).toEqual([]);
  });

  it('the gateway verifies tokens with exactly one key source the platform renders, and shares one identity key with its upstreams', () => {
    const { checked, problems } = checkCrossLayer(app, platform);
    expect(problems).toEqual([]);
    // Not vacuous: one token verifier (the gateway) forwarding to two upstreams; gateway, product, order-api and
    // the two migrations read the identity key.
    expect({ auth: checked['auth-keys'], upstreams: checked['identity-upstream'], identity: checked['identity-key'] }).toEqual({ auth: 1, upstreams: 2, identity: 5 });
  });

  it('every app process that traces can reach its collector (a Service with that port whose pods listen, both sides\' NetworkPolicies open)', () => {
    const { checked, problems } = checkCrossLayer(app, platform);
    expect(problems).toEqual([]);
    // kind exports to the platform's Jaeger from all four Deployments; the eks default names no collector.
    expect(checked['tracing-endpoint'] ?? 0).toBe(env === 'kind' ? 4 : 0);
  });

  it('the combined render passes the policies, including consumer max replicas ≤ topic partitions', () => {
    const report = checkPolicies([...platform, ...app], { complete: true });
    expect(report.violations.map(formatViolation)).toEqual([]);
    expect(report.checked['replicas-within-partitions']).toBeGreaterThan(0);
  });

  it('no resource is defined by both layers', () => {
    const id = (d: Manifest): string => `${String(d['kind'])}/${namespaceOf(d)}/${nameOf(d)}`;
    const platformIds = new Set(platform.map(id));
    expect(app.map(id).filter((i) => platformIds.has(i))).toEqual([]);
  });
});

describe('tracing across the layers: the check fails where spans could not arrive', () => {
  let kindApp: Manifest[];
  let kindPlatform: Manifest[];
  beforeAll(() => {
    kindApp = synthApp('kind');
    kindPlatform = renderPlatform(platformScenarioFor('kind')).docs;
  });
  const tracingProblems = (app: Manifest[], platform: Manifest[]) => checkCrossLayer(app, platform).problems.filter((p) => p.includes('OTEL_EXPORTER_OTLP_ENDPOINT'));
  const without = (docs: Manifest[], kind: string, name: string) => docs.filter((d) => !(d['kind'] === kind && nameOf(d) === name));

  it('kind app on a platform without Jaeger: every exporter names a Service neither layer renders', () => {
    const platform = without(without(kindPlatform, 'Service', 'eshop-jaeger'), 'Deployment', 'eshop-jaeger');
    const problems = tracingProblems(kindApp, platform);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/"http:\/\/eshop-jaeger\.eshop\.svc:4318" names Service eshop-jaeger in namespace eshop, which neither layer renders/);
  });

  it('without the app\'s tracing egress policy, default deny blocks the spans', () => {
    const problems = tracingProblems(without(kindApp, 'NetworkPolicy', 'eshop-app-allow-tracing'), kindPlatform);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/NetworkPolicies block TCP 4318 to the pods of Deployment\/eshop-jaeger/);
  });

  it('a Jaeger NetworkPolicy that admits no app pod blocks the spans', () => {
    const platform = kindPlatform.map((d) => {
      if (d['kind'] !== 'NetworkPolicy' || nameOf(d) !== 'eshop-jaeger') return d;
      const copy = structuredClone(d) as { spec: { ingress: { from?: unknown[] }[] } };
      copy.spec.ingress[0]!.from = [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'someone-else' } } }];
      return copy as Manifest;
    });
    expect(tracingProblems(kindApp, platform)).toHaveLength(4);
  });

  it('eks exporting to a collector in another namespace: allowed on the endpoint\'s port, blocked without the policy', () => {
    const tracing = { enabled: true, otlpEndpoint: 'http://otel-collector.observability.svc:4318', sampleRatio: 0.1 };
    const app = synthApp('eks', { tracing });
    const platform = renderPlatform(platformScenarioFor('eks')).docs;
    const { checked, problems } = checkCrossLayer(app, platform);
    expect(problems).toEqual([]);
    expect(checked['tracing-endpoint']).toBe(4);
    expect(tracingProblems(without(app, 'NetworkPolicy', 'eshop-app-allow-tracing'), platform)[0])
      .toMatch(/NetworkPolicies block TCP 4318 to the collector at otel-collector\.observability\.svc:4318/);
  });
});
