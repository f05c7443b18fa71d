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
