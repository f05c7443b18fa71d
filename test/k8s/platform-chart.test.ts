import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { checkPolicies, formatViolation, literalCredentials, secretsNotGenerated } from './support/policies';
import { PLATFORM_CHART, platformScenarios, renderPlatform, ROOT, type PlatformRender } from './support/render';
import { formatServerError, validateOnServer } from './support/server-validation';

/**
 * charts/eshop-platform, every ci/*-values.yaml scenario: `helm lint --strict`, then every rendered document
 * accepted by the API server (strict server-side dry run, PodSecurity restricted) and the policies. Rendered through charts/render-ci.sh (stub
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

  it('renders the Kafka cluster, its topics and the InnoDBCluster, every document accepted by the API server', () => {
    const kinds = new Set(render.docs.map((d) => d['kind']));
    expect([...kinds]).toEqual(expect.arrayContaining(['Kafka', 'KafkaNodePool', 'KafkaTopic', 'InnoDBCluster', 'Secret']));
    expect(validateOnServer(render.docs).map(formatServerError)).toEqual([]);
  });

  it('passes the policy checks (resources, read-only root filesystem, images, no literal secret env)', () => {
    const report = checkPolicies(render.docs);
    expect(report.violations.map(formatViolation)).toEqual([]);
    expect(report.checked['read-only-root-filesystem']).toBeGreaterThan(0); // the DB bootstrap Job at least
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

describe('platform chart, authentication', () => {
  const byName = (docs: PlatformRender['docs'], kind: string, name: string) =>
    docs.find((d) => d['kind'] === kind && (d['metadata'] as { name?: string }).name === name) as { data?: Record<string, string> } | undefined;
  const decoded = (secret: { data?: Record<string, string> } | undefined, key: string) => Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');

  it('kind: a local issuer key and the gateway identity key are generated (64 characters), and eshop-auth names no JWKS URL', () => {
    const { docs } = renderPlatform(scenarios.find((s) => s.name === 'kind')!);
    expect(decoded(byName(docs, 'Secret', 'eshop-auth-local'), 'jwt-secret')).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(decoded(byName(docs, 'Secret', 'eshop-gateway-identity'), 'secret')).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(byName(docs, 'ConfigMap', 'eshop-auth')?.data).toEqual({ issuer: 'eshop-local', audience: 'eshop-api', 'roles-claim': 'roles' });
  });

  it('eks: keys come from the identity provider (jwks-url), no local issuer key exists', () => {
    const { docs } = renderPlatform(scenarios.find((s) => s.name === 'eks')!);
    expect(byName(docs, 'Secret', 'eshop-auth-local')).toBeUndefined();
    expect(byName(docs, 'Secret', 'eshop-gateway-identity')).toBeDefined();
    expect(byName(docs, 'ConfigMap', 'eshop-auth')?.data).toMatchObject({ 'jwks-url': expect.stringMatching(/^https:\/\//) });
  });

  describe('values that would turn authentication off or make it ambiguous fail the render', () => {
    // A copy of the chart with one extra ci scenario per broken rule, rendered by charts/render-ci.sh as CI renders.
    let chart: string;
    const broken: Record<string, string> = {
      'eks-unset': '# ci-base: values-eks.yaml\n',
      'both-key-sources': '# ci-base: values-kind.yaml\nauth:\n  jwksUrl: https://idp.example.com/.well-known/jwks.json\n',
      'renamed-identity-secret': '# ci-base: values-kind.yaml\nauth:\n  gatewayIdentity:\n    existingSecret: my-identity-key\n',
    };
    beforeAll(() => {
      chart = path.join(mkdtempSync(path.join(os.tmpdir(), 'eshop-auth-chart-')), 'eshop-platform');
      cpSync(PLATFORM_CHART, chart, { recursive: true });
      for (const [name, values] of Object.entries(broken)) writeFileSync(path.join(chart, 'ci', `${name}-values.yaml`), values);
    });
    afterAll(() => rmSync(path.dirname(chart), { recursive: true, force: true }));

    const render = (name: string) => () => renderPlatform({ name, valuesFiles: [] }, chart);
    it('values-eks.yaml as shipped: no identity provider named yet, and no issuer', () => {
      expect(render('eks-unset')).toThrow(/no way to verify access tokens[\s\S]*Authentication cannot be turned off[\s\S]*auth\.issuer is empty/);
    });
    it('a JWKS URL and the local issuer together', () => {
      expect(render('both-key-sources')).toThrow(/auth\.jwksUrl is set and auth\.localIssuer\.enabled=true/);
    });
    it('a supplied identity Secret under another name than the app reads', () => {
      expect(render('renamed-identity-secret')).toThrow(/auth\.gatewayIdentity\.existingSecret=my-identity-key, but the application layer reads Secret eshop-gateway-identity/);
    });
  });
});
