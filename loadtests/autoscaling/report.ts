/**
 * The experiment's outputs: docs/performance/results/<date>-autoscaling.json (every figure and the raw series),
 * plots (SVG) in docs/performance/plots, and the figures section of docs/performance/autoscaling-experiment.md
 * (between its FIGURES markers, so the hand-written analysis around it stays).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AutoscalingResult, ExperimentEvent } from './experiment';
import { timeChart } from './svg-time-chart';

const START = '<!-- FIGURES:START (written by npm run experiment:local) -->';
const END = '<!-- FIGURES:END -->';
const COLOR = { lag: '#d95f02', keda: '#7570b3', desired: '#e7298a', ready: '#1b9e77', processes: '#1f78b4', drain: '#666666', cpu: '#a6761d' };

const minutes = (t: number) => t / 60;
const pts = (r: AutoscalingResult, f: (s: AutoscalingResult['samples'][number]) => number | null) => r.samples.map((s) => [minutes(s.t), f(s)] as const);
const firstOf = (events: readonly ExperimentEvent[], kind: ExperimentEvent['kind']) => events.find((e) => e.kind === kind)?.t;

export function plots(r: AutoscalingResult): Record<string, string> {
  const burst = { from: minutes(firstOf(r.events, 'burst-start') ?? 0), to: minutes(firstOf(r.events, 'burst-end') ?? 0), label: 'burst' };
  return {
    'autoscaling-lag.svg': timeChart({
      title: 'Consumer-group lag: the broker’s committed offsets, and KEDA’s metric as the HPA read it',
      yLabel: 'messages',
      band: burst,
      series: [
        { name: 'lag (broker)', color: COLOR.lag, points: pts(r, (s) => s.lag) },
        { name: 'KEDA metric (HPA status)', color: COLOR.keda, dashed: true, points: pts(r, (s) => s.kedaMetric) },
      ],
    }),
    'autoscaling-replicas.svg': timeChart({
      title: 'HPA desired replicas vs Ready consumer pods vs running consumer processes',
      yLabel: 'replicas',
      band: burst,
      series: [
        { name: 'HPA desired', color: COLOR.desired, points: pts(r, (s) => s.hpaDesired) },
        { name: 'Ready pods', color: COLOR.ready, points: pts(r, (s) => s.readyPods) },
        { name: 'processes', color: COLOR.processes, dashed: true, points: pts(r, (s) => s.processes) },
      ],
    }),
    'autoscaling-drain.svg': timeChart({
      title: 'Orders decided per second (drain rate) and machine CPU',
      yLabel: 'orders/s · CPU %',
      band: burst,
      series: [
        { name: 'decided/s', color: COLOR.drain, points: pts(r, (s) => s.decidedPerSecond) },
        { name: 'CPU % (2 cores)', color: COLOR.cpu, dashed: true, points: pts(r, (s) => s.cpuPercent) },
      ],
    }),
  };
}

const fmt = (n: number | null | undefined, unit = '') => (n === null || n === undefined ? '—' : `${Math.round(n * 10) / 10}${unit}`);

export function figuresMarkdown(r: AutoscalingResult, jsonFile: string): string {
  const lines = [
    START,
    `Run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.cpus} cores, Node ${r.machine.node}: Kubernetes ${r.kubernetesVersion} (local control plane), KEDA ${r.kedaVersion}. Raw series: [${path.basename(jsonFile)}](results/${path.basename(jsonFile)}).`,
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| async orders accepted (202) | ${r.accepted} |`,
    `| decided (confirmed or rejected) | ${r.decided} |`,
    `| lost · duplicated · oversold | ${r.lost} · ${r.duplicated} · ${r.oversold} |`,
    `| decision events on the topic (order.confirmed / order.rejected) | ${r.decisionEvents} |`,
    `| dead-lettered | ${r.deadLettered} |`,
    `| stock: initial − remaining = units of confirmed orders | ${r.stock.initial} − ${r.stock.remaining} = ${r.stock.confirmedUnits} (${r.stock.consistent ? 'exact' : 'MISMATCH'}) |`,
    `| burst intake | ${fmt(r.load.okPerSecond)} orders/s over ${fmt(r.load.seconds)} s, p95 ${fmt(r.load.latencyMs.p95)} ms |`,
    `| peak lag | ${Math.max(...r.samples.map((s) => s.lag))} |`,
    `| max HPA desired replicas (min ${r.settings.minReplicas}, max ${r.settings.maxReplicas}, lagThreshold ${r.settings.lagThreshold}) | ${r.maxDesiredReplicas} |`,
    `| lag over the threshold → first new consumer Ready | ${fmt(r.scaleUpSeconds, ' s')} |`,
    `| end of burst → lag 0, all decided | ${fmt(r.drainSeconds, ' s')} |`,
    `| final lag | ${r.finalLag} |`,
    `| scale-in events | ${r.scaleInEvents} |`,
    `| peak drain rate | ${Math.max(...r.samples.map((s) => s.decidedPerSecond))} orders/s |`,
    '',
    '![lag](plots/autoscaling-lag.svg)',
    '',
    '![replicas](plots/autoscaling-replicas.svg)',
    '',
    '![drain](plots/autoscaling-drain.svg)',
    '',
    'Scaling moments (from the API server, the node agent and the broker):',
    '',
    '| t (s) | event | |',
    '| ---: | --- | --- |',
    ...r.events.filter((e) => e.kind !== 'consumer-started').map((e) => `| ${e.t} | ${e.kind} | ${e.detail.replace(/\|/g, '\\|')} |`),
    '',
  ];
  const dash = r.prometheus;
  if (dash.length > 0) {
    const withData = dash.filter((q) => (q.series ?? 0) > 0).length;
    const failed = dash.filter((q) => q.error);
    lines.push(
      `The order pipeline dashboard's ${dash.length} queries on the run's Prometheus, at the peak lag: ${withData} returned data, ${dash.filter((q) => q.clusterOnly).length} read cluster-only series (kube-state-metrics, the Kafka exporter), ${failed.length} failed.`,
      '',
      '| panel | series | value |',
      '| --- | ---: | ---: |',
      ...dash.filter((q) => !q.clusterOnly).map((q) => `| ${q.panel} | ${q.series ?? 'error'} | ${fmt(q.value)} |`),
      '',
    );
  }
  lines.push(END);
  return lines.join('\n');
}

/** Writes the JSON, the plots and the report's figures section; returns the files written. */
export function writeOutputs(r: AutoscalingResult, docsDir: string): string[] {
  const resultsDir = path.join(docsDir, 'results');
  const plotsDir = path.join(docsDir, 'plots');
  mkdirSync(resultsDir, { recursive: true });
  mkdirSync(plotsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `${r.startedAt.slice(0, 10)}-autoscaling.json`);
  writeFileSync(jsonFile, `${JSON.stringify(r, null, 1)}\n`);
  const written = [jsonFile];
  for (const [name, svg] of Object.entries(plots(r))) {
    writeFileSync(path.join(plotsDir, name), svg);
    written.push(path.join(plotsDir, name));
  }
  const reportFile = path.join(docsDir, 'autoscaling-experiment.md');
  const figures = figuresMarkdown(r, jsonFile);
  const current = existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : `# Autoscaling experiment\n\n${START}\n${END}\n`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${reportFile} has no FIGURES markers`);
  writeFileSync(reportFile, current.slice(0, start) + figures + current.slice(end + END.length));
  written.push(reportFile);
  return written;
}
