import { checkCrossLayer } from './support/cross-layer';
import { checkPolicies, formatViolation, nameOf, namespaceOf } from './support/policies';
import { ENVIRONMENTS, platformScenarioFor, renderPlatform, synthApp } from './support/render';
import type { Manifest } from './support/schema-validator';

/**
 * The two layers together, per environment (kind app ↔ ci/kind platform scenario on values-kind.yaml, eks ↔ eks):
 * what the app references (bootstrap servers, topics, consumer group, DB host, secrets, network paths) is
 * read from the platform render itself, not from a shared constant.
 */
describe.each(ENVIRONMENTS)('app and platform together, environment %s', (env) => {
  let app: Manifest[];
  let platform: Manifest[];
  beforeAll(() => {
    app = synthApp(env);
    platform = renderPlatform(platformScenarioFor(env)).docs;
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
