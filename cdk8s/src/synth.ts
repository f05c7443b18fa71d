import { App } from 'cdk8s';
import { EshopAppChart } from './eshop-app-chart';
import { DeepPartial, EnvironmentConfig, environmentConfig, EnvironmentName, mergeConfig } from './environments';

/** Id of the one chart per environment; `cdk8s synth` writes it to `<outdir>/eshop-app.k8s.yaml`. */
export const CHART_ID = 'eshop-app';

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
