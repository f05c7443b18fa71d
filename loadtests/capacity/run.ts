/**
 * npm run capacity [-- --per-consumer=N --baseline=N --spike=20 --spike-minutes=10 --startup=30 --rebalance=5 --in-flight=1 --no-write]
 *
 * Reads μ (one consumer's steady drain rate) and today's async intake from the newest benchmark result in
 * docs/performance/results/, simulates a spike for every lagThreshold × partitions × maxReplicas of the
 * grid, prints the table and writes docs/performance/capacity-model.md with its plots.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BEHAVIOR_VARIANTS, CHOSEN, runCandidate, runGrid, type Candidate, type Inputs } from './grid';
import { CLUSTER_DEFAULTS } from './defaults';
import { renderPlots, renderReport, tableRows } from './report';

/** The repository root: the folder above whose package.json declares the workspaces (wherever tsc put this file). */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && 'workspaces' in (JSON.parse(readFileSync(pkg, 'utf8')) as object)) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json with "workspaces" above ${__dirname}`);
  }
}
const REPO_ROOT = repoRoot();
const RESULTS_DIR = path.join(REPO_ROOT, 'docs', 'performance', 'results');

interface BenchFigures {
  readonly drain?: readonly { consumers: number; steadyOrdersPerSecond: number }[];
  readonly intake?: readonly { async: { load: { okPerSecond: number } } }[];
}

/** μ and the baseline from the newest committed benchmark result (file names start with the date). */
export function measuredFigures(dir = RESULTS_DIR): { perConsumer?: number; baseline?: number; file?: string } {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return {};
  }
  const file = files.at(-1);
  if (!file) return {};
  const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as BenchFigures;
  const one = r.drain?.find((d) => d.consumers === 1)?.steadyOrdersPerSecond;
  const intake = r.intake?.map((l) => l.async.load.okPerSecond) ?? [];
  return { perConsumer: one, baseline: intake.length > 0 ? Math.max(...intake) : undefined, file: path.join('docs/performance/results', file) };
}

function parseArgs(argv: readonly string[]): { flags: Map<string, string>; write: boolean } {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) fail(`unexpected argument ${JSON.stringify(arg)}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  const known = ['per-consumer', 'baseline', 'spike', 'spike-minutes', 'startup', 'rebalance', 'in-flight', 'no-write'];
  for (const k of flags.keys()) if (!known.includes(k)) fail(`unknown option --${k} (known: ${known.map((n) => `--${n}`).join(' ')})`);
  return { flags, write: flags.get('no-write') !== 'true' };
}

function fail(message: string): never {
  console.error(`capacity: ${message}`);
  process.exit(2);
}

function positive(flags: Map<string, string>, name: string, fallback: number | undefined): number {
  const raw = flags.get(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined) fail(`--${name} is needed: no benchmark result in docs/performance/results gives it`);
  if (!Number.isFinite(value) || value < 0) fail(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return value;
}

function main(): void {
  const { flags, write } = parseArgs(process.argv.slice(2));
  const measured = measuredFigures();
  const inputs: Inputs = {
    perConsumerPerSecond: positive(flags, 'per-consumer', measured.perConsumer),
    baselinePerSecond: positive(flags, 'baseline', measured.baseline),
    source: flags.has('per-consumer') || flags.has('baseline') || !measured.file ? 'command-line flags' : measured.file,
    spikeFactor: positive(flags, 'spike', 20),
    spikeMinutes: positive(flags, 'spike-minutes', 10),
    podStartupSeconds: positive(flags, 'startup', CLUSTER_DEFAULTS.podStartupSeconds),
    rebalancePauseSeconds: positive(flags, 'rebalance', CLUSTER_DEFAULTS.rebalancePauseSeconds),
    inFlightSeconds: positive(flags, 'in-flight', CLUSTER_DEFAULTS.inFlightSeconds),
  };
  if (!(inputs.perConsumerPerSecond > 0)) fail('--per-consumer must be > 0');

  const grid = runGrid(inputs);
  const needed = Math.ceil((inputs.baselinePerSecond * inputs.spikeFactor) / inputs.perConsumerPerSecond);
  const largest: Candidate = { lagThreshold: CHOSEN.lagThreshold, partitions: 48, maxReplicas: 48 };
  const middle: Candidate = { lagThreshold: CHOSEN.lagThreshold, partitions: 24, maxReplicas: 24 };
  const compared = [CHOSEN, middle, largest].map((c) => runCandidate(inputs, c));
  const variants = BEHAVIOR_VARIANTS.map((v) => ({ name: v.name, row: runCandidate(inputs, largest, v.behavior) }));

  console.log(`capacity model: μ = ${inputs.perConsumerPerSecond} orders/s per consumer, baseline ${inputs.baselinePerSecond} orders/s (${inputs.source}),`);
  console.log(`  spike ×${inputs.spikeFactor} for ${inputs.spikeMinutes} min = ${Math.round(inputs.baselinePerSecond * inputs.spikeFactor)} orders/s → needs ≥ ${needed} consumers (and partitions)`);
  console.log('');
  for (const line of tableRows(grid)) console.log(line);

  if (!write) return;
  const docs = path.join(REPO_ROOT, 'docs', 'performance');
  mkdirSync(path.join(docs, 'plots'), { recursive: true });
  for (const [file, svg] of renderPlots(inputs, compared, variants)) {
    writeFileSync(path.join(docs, 'plots', file), svg);
    console.log(`wrote docs/performance/plots/${file}`);
  }
  writeFileSync(path.join(docs, 'capacity-model.md'), renderReport({ inputs, grid, compared, variants, needed }));
  console.log('wrote docs/performance/capacity-model.md');
}

if (require.main === module) main();
