import { App } from 'cdk8s';
import { EshopAppChart } from './eshop-app-chart';
import { EshopLoadTestsChart } from './loadtests-chart';
import { DeepPartial, EnvironmentConfig, environmentConfig, EnvironmentName, mergeConfig } from './environments';

/** Id of the one chart per environment; `cdk8s synth` writes it to `<outdir>/eshop-app.k8s.yaml`. */
export const CHART_ID = 'eshop-app';

/** Id of the load-test chart; `dist/loadtests/<env>/eshop-loadtests.k8s.yaml`. */
export const LOADTESTS_CHART_ID = 'eshop-loadtests';

/** The environment's config with `overrides` merged in (reads ESHOP_* variables from `env`). */
export function resolveConfig(env: EnvironmentName, overrides?: DeepPartial<EnvironmentConfig>, processEnv: NodeJS.ProcessEnv = process.env): EnvironmentConfig {
  return mergeConfig<EnvironmentConfig>(environmentConfig(env, processEnv), overrides);
}

/** Builds the app of one environment inside `app` (no files written until app.synth()). */
export function buildApp(app: App, config: EnvironmentConfig): EshopAppChart {
  return new EshopAppChart(app, CHART_ID, { config });
}

/**
 * All manifests of one environment, in memory, as plain objects (what the YAML files contain).
 * Throws (naming field, value and rule) when the config breaks a rule, e.g. consumer maxReplicas > partitions.
 */
export function synthEnvironment(
  env: EnvironmentName,
  overrides?: DeepPartial<EnvironmentConfig>,
  processEnv: NodeJS.ProcessEnv = process.env,
): Record<string, unknown>[] {
  const app = new App({ outdir: '/nonexistent-not-written' });
  const chart = buildApp(app, resolveConfig(env, overrides, processEnv));
  return chart.toJson() as Record<string, unknown>[];
}

/** Builds the k6 load tests of one environment (ConfigMap + TestRuns) inside `app`. */
export function buildLoadTests(app: App, config: EnvironmentConfig, testId?: string): EshopLoadTestsChart {
  return new EshopLoadTestsChart(app, LOADTESTS_CHART_ID, { config, ...(testId ? { testId } : {}) });
}

/**
 * The load tests of one environment, in memory (what dist/loadtests/<env>/ contains). Separate from
 * synthEnvironment: a normal deploy applies the app only.
 */
export function synthLoadTests(
  env: EnvironmentName,
  overrides?: DeepPartial<EnvironmentConfig>,
  processEnv: NodeJS.ProcessEnv = process.env,
): Record<string, unknown>[] {
  const app = new App({ outdir: '/nonexistent-not-written' });
  const chart = buildLoadTests(app, resolveConfig(env, overrides, processEnv), processEnv.ESHOP_LOADTEST_ID || undefined);
  return chart.toJson() as Record<string, unknown>[];
}
