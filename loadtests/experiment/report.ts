import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChart, type Series } from '../bench/svg-chart';
import type { ExperimentResult, Sample } from './experiment';

/** At most `n` points for a plot: the samples grouped in time, each group's maximum (peaks stay visible). */
export function downsample(samples: readonly Sample[], n = 20): Sample[][] {
  if (samples.length <= n) return samples.map((s) => [s]);
  const size = Math.ceil(samples.length / n);
  const groups: Sample[][] = [];
  for (let i = 0; i < samples.length; i += size) groups.push(samples.slice(i, i + size));
  return groups;
}

const max = (values: readonly (number | null)[]): number | null => {
  const nums = values.filter((v): v is number => v !== null);
  return nums.length ? Math.max(...nums) : null;
};

const clock = (seconds: number) => `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;

function chart(result: ExperimentResult, title: string, yLabel: string, series: { name: string; color: string; pick: (s: Sample) => number | null }[]): string {
  const groups = downsample(result.samples);
  const categories = groups.map((g) => clock(g[0]!.t));
  const s: Series[] = series.map((x) => ({ name: x.name, color: x.color, values: groups.map((g) => max(g.map(x.pick))) }));
  return lineChart({ title: `${title} — ${result.testId}`, xLabel: 'time since the TestRun was created', yLabel, categories, series: s, width: 960 });
}

/** The plots of the report: file name → SVG. */
export function plots(result: ExperimentResult): Record<string, string> {
  return {
    'load.svg': chart(result, 'k6 request rate', 'requests/s', [{ name: 'k6 requests/s', color: '#1b9e77', pick: (s) => s.requestRate }]),
    'lag.svg': chart(result, 'Consumer lag (order-consumers on order-events)', 'messages', [{ name: 'lag', color: '#d95f02', pick: (s) => s.lag }]),
    'replicas.svg': chart(result, 'order-consumer replicas', 'replicas', [
      { name: 'ready', color: '#1f78b4', pick: (s) => s.replicasReady },
      { name: 'HPA desired', color: '#e7298a', pick: (s) => s.hpaDesired },
    ]),
    'p95.svg': chart(result, 'k6 p95 latency', 'ms', [{ name: 'p95', color: '#7570b3', pick: (s) => (s.p95 === null ? null : s.p95 * 1000) }]),
  };
}

const fmt = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));

/** Markdown summary: outcome, the headline figures, plots and the sample table. */
export function summary(result: ExperimentResult): string {
  const { samples } = result;
  const peakLag = max(samples.map((s) => s.lag));
  const peakReplicas = max(samples.map((s) => s.replicasReady));
  const firstAtPeak = peakReplicas === null ? undefined : samples.find((s) => s.replicasReady === peakReplicas);
  const last = samples.at(-1);
  const drainSeconds = result.drainedAt !== null && result.testEndedAt !== null ? result.drainedAt - result.testEndedAt : null;
  const lines = [
    `# Scaling experiment: ${result.scenario} (${result.testId})`,
    '',
    `Started ${result.startedAt}, TestRun \`${result.namespace}/${result.testRun}\`, ${samples.length} samples.`,
    '',
    `**Outcome: ${result.outcome === 'drained' ? 'the test ended and the lag drained' : 'timed out before the test ended and the lag drained'}.**`,
    '',
    '| | |',
    '|---|---|',
    `| TestRun final stage | ${result.finalStage ?? 'not reached'}${result.testEndedAt !== null ? ` at ${clock(result.testEndedAt)}` : ''} |`,
    `| lag drained | ${result.drainedAt !== null ? `at ${clock(result.drainedAt)} (${drainSeconds} s after the test ended)` : 'no'} |`,
    `| peak consumer lag | ${fmt(peakLag)} messages |`,
    `| peak order-consumer replicas (ready) | ${fmt(peakReplicas)}${firstAtPeak ? ` (first at ${clock(firstAtPeak.t)})` : ''} |`,
    `| replicas at the end | ${fmt(last?.replicasReady ?? null)} |`,
    `| peak k6 request rate | ${fmt(max(samples.map((s) => s.requestRate)), 1)} req/s |`,
    `| worst k6 p95 | ${fmt(max(samples.map((s) => (s.p95 === null ? null : s.p95 * 1000))), 1)} ms |`,
    '',
    '![load](load.svg) ![lag](lag.svg)',
    '',
    '![replicas](replicas.svg) ![p95](p95.svg)',
    '',
    'Queries (Prometheus):',
    '',
    ...Object.entries(result.queries).map(([k, q]) => `- ${k}: \`${q}\``),
    '',
    '## Samples',
    '',
    '| t | stage | lag | replicas ready/desired | HPA desired | scaler active | k6 req/s | p95 ms |',
    '|---|---|---|---|---|---|---|---|',
    ...samples.map((s) => `| ${clock(s.t)} | ${s.stage ?? '–'} | ${fmt(s.lag)} | ${fmt(s.replicasReady)}/${fmt(s.replicasDesired)} | ${fmt(s.hpaDesired)} | ${s.scalerActive === null ? '–' : s.scalerActive ? 'yes' : 'no'} | ${fmt(s.requestRate, 1)} | ${fmt(s.p95 === null ? null : s.p95 * 1000, 1)} |`),
    '',
  ];
  return lines.join('\n');
}

/** Writes samples.json, README.md and the SVG plots into `dir`; returns the file paths. */
export function writeReport(dir: string, result: ExperimentResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    'samples.json': `${JSON.stringify(result, null, 2)}\n`,
    'README.md': summary(result),
    ...plots(result),
  };
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  });
}
