import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { ENVIRONMENT_NAMES, EnvironmentName } from './environments';
import { buildApp, buildLoadTests, resolveConfig } from './synth';

/**
 * `npm run synth`: every environment into dist/<env>/ (the app) and dist/loadtests/<env>/ (k6 TestRuns,
 * applied only on purpose; ESHOP_LOADTEST_ID sets their testid). Under `cdk8s synth` (CDK8S_OUTDIR set, e.g. by
 * `npm run synth:helm`), only ESHOP_ENV is synthesized, into the directory the CLI chose.
 */
function main(): void {
  const cliOutdir = process.env.CDK8S_OUTDIR;
  const selected = process.env.ESHOP_ENV;
  if (selected !== undefined && !(ENVIRONMENT_NAMES as readonly string[]).includes(selected)) {
    throw new Error(`ESHOP_ENV="${selected}": must be one of ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  if (cliOutdir && !selected) throw new Error('ESHOP_ENV is required under `cdk8s synth` (one environment per output folder)');
  const envs: readonly EnvironmentName[] = selected ? [selected as EnvironmentName] : ENVIRONMENT_NAMES;
  for (const env of envs) {
    const outdir = cliOutdir ?? join(__dirname, '..', '..', 'dist', env);
    if (!cliOutdir) rmSync(outdir, { recursive: true, force: true });
    const config = resolveConfig(env);
    if (env === 'eks' && config.image.registry === undefined) {
      const why = 'eks: ESHOP_IMAGE_REGISTRY is not set, so images are the bare names eshop/<service>';
      // A packaged chart goes to `helm install` as is: nothing would rewrite the names, pods could not pull.
      if (cliOutdir) throw new Error(`${why}; set it (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com) to package the eks chart`);
      console.warn(`${why} (fine for skaffold -p eks --default-repo, which rewrites them)`);
    }
    const app = new App({ outdir });
    buildApp(app, config);
    app.synth();
    console.log(`${env}: ${outdir}`);
    if (!cliOutdir) {
      // Never next to the app's files: `kubectl apply -f dist/<env>/` must not start load tests.
      const loadtestsOutdir = join(__dirname, '..', '..', 'dist', 'loadtests', env);
      rmSync(loadtestsOutdir, { recursive: true, force: true });
      const loadtests = new App({ outdir: loadtestsOutdir });
      buildLoadTests(loadtests, config, process.env.ESHOP_LOADTEST_ID || undefined);
      loadtests.synth();
      console.log(`${env} load tests: ${loadtestsOutdir}`);
    }
  }
}

main();
