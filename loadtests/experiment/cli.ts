/**
 * npm run experiment -- --scenario async-ramp [--env kind] [--namespace eshop] [--prometheus http://localhost:9090]
 *   [--out docs/performance/experiments/<date>] [--interval 10] [--timeout 3600] [--drained-lag 10] [--manifest FILE]
 *
 * Creates the scenario's TestRun from the synthesized manifest (npm run synth → cdk8s/dist/loadtests/<env>/),
 * samples the order consumers until the run ended and the lag drained, and writes the report folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './cluster-client';
import { runExperiment } from './experiment';
import { KubernetesClusterClient } from './kubernetes-client';
import { writeReport } from './report';

const ROOT = path.resolve(__dirname, '../../../..');

function args(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    out.set(key, inline ?? argv[++i] ?? '');
  }
  return out;
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const scenario = a.get('scenario');
  if (!scenario) throw new Error('--scenario is required (catalog-browsing, sync-orders, async-orders, flash-sale, async-ramp)');
  const env = a.get('env') ?? 'kind';
  const namespace = a.get('namespace') ?? 'eshop';
  const prometheus = a.get('prometheus') ?? 'http://localhost:9090';
  const started = new Date();
  const out = path.resolve(a.get('out') ?? path.join(ROOT, 'docs/performance/experiments', `${started.toISOString().slice(0, 10)}-${scenario}`));
  const manifestFile = path.resolve(a.get('manifest') ?? path.join(ROOT, 'cdk8s/dist/loadtests', env, 'eshop-loadtests.k8s.yaml'));
  const docs = parseAllDocuments(readFileSync(manifestFile, 'utf8')).map((d) => d.toJS() as Manifest);
  const testRun = docs.find((d) => d.kind === 'TestRun' && d.metadata.name === `k6-${scenario}`);
  if (!testRun) throw new Error(`${manifestFile}: no TestRun k6-${scenario} (run \`npm run synth\`)`);
  const scripts = docs.find((d) => d.kind === 'ConfigMap');
  const testId = `${scenario}-${started.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const num = (k: string, d: number) => (a.has(k) ? Number(a.get(k)) : d);
  const result = await runExperiment({
    client: new KubernetesClusterClient(prometheus),
    namespace,
    scenario,
    testRun,
    ...(scripts ? { scripts } : {}),
    testId,
    intervalSeconds: num('interval', 10),
    timeoutSeconds: num('timeout', 3600),
    drainedLag: num('drained-lag', 10),
    log: (line) => console.log(line),
  });
  for (const f of writeReport(out, result)) console.log(`wrote ${path.relative(process.cwd(), f)}`);
  if (result.outcome !== 'drained') process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
