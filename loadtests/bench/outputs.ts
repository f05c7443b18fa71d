import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ANALYSIS_END, ANALYSIS_START, markdownReport, plots } from './report';
import type { BenchResults } from './results';
import { REPO_ROOT } from './stack';

export const DOCS = path.join(REPO_ROOT, 'docs', 'performance');

/**
 * Writes the report, the JSON and the plots of a run; returns the files written. A full run goes to
 * docs/performance/; a smoke run (whose figures mean nothing) to `runDir` (its folder under .local/bench/).
 * The hand-written Analysis section of an existing report is carried over.
 */
export function writeOutputs(results: BenchResults, runDir: string, toDocs = !results.options.smoke): string[] {
  const smoke = !toDocs;
  const outDir = smoke ? runDir : DOCS;
  const resultsRel = smoke ? 'results.json' : `results/${results.startedAt.slice(0, 10)}-local.json`;
  const reportFile = path.join(outDir, smoke ? 'report.md' : 'local-benchmark.md');
  const written: string[] = [];
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(file);
  };
  write(path.join(outDir, resultsRel), `${JSON.stringify(results, null, 2)}\n`);
  for (const [name, svg] of Object.entries(plots(results))) write(path.join(outDir, 'plots', name), svg);
  const previous = existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : '';
  const a = previous.indexOf(ANALYSIS_START);
  const b = previous.indexOf(ANALYSIS_END);
  const analysis = a >= 0 && b > a ? previous.slice(a + ANALYSIS_START.length, b) : undefined;
  write(reportFile, markdownReport(results, 'plots', resultsRel, analysis));
  return written;
}
