/**
 * Regenerates the report and plots from a saved results file, without measuring again (after a
 * change to the report's layout):  node loadtests/bench/dist/render.js docs/performance/results/<date>-local.json
 * A file under docs/performance/results/ regenerates docs/performance/; any other file gets report.md
 * and plots/ beside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DOCS, writeOutputs } from './outputs';
import { evaluateTargets, type BenchResults } from './results';
import { REPO_ROOT } from './stack';

const file = process.argv[2];
if (!file) {
  console.error('usage: node loadtests/bench/dist/render.js RESULTS.json');
  process.exit(2);
}
const saved = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
const results: BenchResults = { ...saved, targets: evaluateTargets(saved) };
const dir = path.dirname(path.resolve(file));
const toDocs = dir === path.join(DOCS, 'results');
for (const written of writeOutputs(results, dir, toDocs)) console.log(`wrote ${path.relative(REPO_ROOT, written)}`);
