// `npm run -w cdk8s synth:helm`: each environment as a Helm chart (apiVersion v2, version = root package.json
// version) in dist/helm/<env>/, made by `cdk8s synth --format helm` (static templates, no values).
// The CLI names the chart after the working directory ("cdk8s"); the name is set to eshop-app afterwards.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
const envs = process.argv.length > 2 ? process.argv.slice(2) : ['kind', 'eks'];
for (const env of envs) {
  const outdir = join('dist', 'helm', env);
  execFileSync('cdk8s', [
    'synth', '--no-check-upgrade', '--app', 'node --enable-source-maps build/src/main.js',
    '--format', 'helm', '--chart-api-version', 'v2', '--chart-version', version, '--output', outdir,
  ], { stdio: 'inherit', env: { ...process.env, ESHOP_ENV: env } });
  const chartFile = join(outdir, 'Chart.yaml');
  const chart = YAML.parse(readFileSync(chartFile, 'utf8'));
  Object.assign(chart, {
    name: 'eshop-app',
    description: `eshop application layer (gateway, product, order API, order consumers) for ${env}, synthesized by cdk8s; install after eshop-platform`,
    appVersion: version,
  });
  writeFileSync(chartFile, YAML.stringify(chart));
  writeFileSync(join(outdir, 'values.yaml'),
    '# No values: the templates are static manifests. Change cdk8s/src/environments.ts and run `npm run -w cdk8s synth:helm`.\n');
}
