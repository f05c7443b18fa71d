import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { LOADTEST_PART_OF, LOADTEST_POD_LABELS } from './constructs/labels';
import { K6Scripts, LoadTest } from './constructs/load-test';
import { EnvironmentConfig, LOAD_TEST_SCENARIOS, validateConfig } from './environments';
import { prometheusRemoteWriteUrl, workloads } from './platform-contract';

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
    }));
  }
}
