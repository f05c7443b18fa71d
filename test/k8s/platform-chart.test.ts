import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkPolicies, formatViolation, literalCredentials, secretsNotGenerated } from './support/policies';
import { PLATFORM_CHART, platformScenarios, renderPlatform, ROOT, type PlatformRender } from './support/render';
import { formatError, validateAll } from './support/schema-validator';

/**
 * charts/eshop-platform, every ci/*-values.yaml scenario: `helm lint --strict`, then every rendered document
 * strictly valid against the pinned schemas and the policies. Rendered through charts/render-ci.sh (stub
 * subcharts), so the operators' own charts are not part of this; their custom resources are.
 */
const scenarios = platformScenarios();

describe.each(scenarios)('platform chart, scenario $name', (scenario) => {
  let render: PlatformRender;
  beforeAll(() => {
    render = renderPlatform(scenario);
  });

  it('passes helm lint --strict', () => {
    expect(render.lint).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the Kafka cluster, its topics and the InnoDBCluster, every document strictly schema-valid', () => {
    const kinds = new Set(render.docs.map((d) => d['kind']));
    expect([...kinds]).toEqual(expect.arrayContaining(['Kafka', 'KafkaNodePool', 'KafkaTopic', 'InnoDBCluster', 'Secret']));
    expect(validateAll(render.docs).map(formatError)).toEqual([]);
  });

  it('passes the policy checks (resources, securityContext, images, no literal secret env)', () => {
    const report = checkPolicies(render.docs);
    expect(report.violations.map(formatViolation)).toEqual([]);
    expect(report.checked['security-context']).toBeGreaterThan(0); // the DB bootstrap Job at least
  });

  it('generates its credentials: two renders give different passwords', () => {
    const { checked, problems } = secretsNotGenerated(render.docs, render.again);
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });
});

it('no values file of the platform chart writes down a password or token', () => {
  const files = [
    ...readdirSync(PLATFORM_CHART).filter((f) => /^values.*\.ya?ml$/.test(f)),
    ...readdirSync(path.join(PLATFORM_CHART, 'ci')).map((f) => `ci/${f}`),
  ];
  expect(files).toEqual(expect.arrayContaining(['values.yaml', 'values-kind.yaml', 'values-eks.yaml']));
  const found = files.flatMap((f) =>
    literalCredentials(parse(readFileSync(path.join(PLATFORM_CHART, f), 'utf8'))).map((key) => `${path.relative(ROOT, path.join(PLATFORM_CHART, f))}: ${key}`),
  );
  expect(found).toEqual([]);
});
