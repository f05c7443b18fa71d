import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { LOADTEST_PART_OF, LOADTEST_POD_LABELS } from './constructs/labels';
import { K6Scripts, LoadTest } from './constructs/load-test';
import { EnvironmentConfig, LOAD_TEST_SCENARIOS, validateConfig } from './environments';
import { auth, prometheusRemoteWriteUrl, workloads } from './platform-contract';

export interface EshopLoadTestsChartProps {
  readonly config: EnvironmentConfig;
  /**
   * `testid` of every TestRun; the experiment runner replaces it per run.
   * @default - the scenario name
   */
  readonly testId?: string;
  /** @default - loadtests/k6 of this repository */
  readonly scriptsDir?: string;
}

/** Name of the ConfigMap holding the transpiled k6 scripts. */
export const K6_SCRIPTS_CONFIG_MAP = 'eshop-k6-scripts';

/**
 * Where runners find the access token when the gateway trusts an identity provider (no key to mint with): a
 * Secret the operator creates before a run (docs/performance/README.md), holding an admin token of that provider.
 */
export const K6_ACCESS_TOKEN_SECRET = { name: 'eshop-loadtest-token', key: 'token' } as const;

/**
 * The k6 scripts (one ConfigMap) and one k6-operator TestRun per scenario, in the app's namespace. A
 * chart of its own, written to dist/loadtests/<env>/, so applying the app never starts a load test.
 */
export class EshopLoadTestsChart extends Chart {
  readonly loadTests: readonly LoadTest[];

  constructor(scope: Construct, id: string, props: EshopLoadTestsChartProps) {
    const { config } = props;
    validateConfig(config);
    super(scope, id, {
      namespace: config.namespace,
      labels: { 'app.kubernetes.io/part-of': LOADTEST_PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' },
      disableResourceNameHashes: true,
    });
    const ns = config.namespace;
    const scripts = new K6Scripts(this, 'scripts', { name: K6_SCRIPTS_CONFIG_MAP, ...(props.scriptsDir ? { scriptsDir: props.scriptsDir } : {}) });
    const s = config.loadTests;
    const setting = (name: string, key: string) => ({ name, valueFrom: { configMapKeyRef: { name: auth.settings.name, key } } });
    // With the local issuer the scripts mint their own tokens (an admin for setup, a customer per order) from its key
    // and settings; with an identity provider they send the token of K6_ACCESS_TOKEN_SECRET.
    const authEnv = config.auth.keys === 'local-issuer'
      ? [
        { name: 'AUTH_JWT_SECRET', valueFrom: { secretKeyRef: { name: auth.localIssuerSecret.name, key: auth.localIssuerSecret.key } } },
        setting('AUTH_JWT_ISSUER', auth.settings.issuerKey),
        setting('AUTH_JWT_AUDIENCE', auth.settings.audienceKey),
      ]
      : [
        { name: 'ACCESS_TOKEN', valueFrom: { secretKeyRef: { name: K6_ACCESS_TOKEN_SECRET.name, key: K6_ACCESS_TOKEN_SECRET.key } } },
        setting('AUTH_ROLES_CLAIM', auth.settings.rolesClaimKey),
      ];
    this.loadTests = LOAD_TEST_SCENARIOS.map(scenario => new LoadTest(this, scenario, {
      scenario,
      scripts,
      parallelism: s.parallelism[scenario],
      baseUrl: `http://${workloads.gateway.name}.${ns}.svc:${workloads.gateway.port}`,
      testId: props.testId ?? scenario,
      loadFactor: s.loadFactor,
      prometheusRemoteWriteUrl: s.prometheusRemoteWriteUrl ?? prometheusRemoteWriteUrl(ns),
      resources: s.runnerResources,
      podLabels: LOADTEST_POD_LABELS,
      ...(s.runnerImage ? { runnerImage: s.runnerImage } : {}),
      env: authEnv,
    }));
  }
}
