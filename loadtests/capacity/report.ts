import { CHOSEN, scenarioFor, type Candidate, type GridRow, type Inputs } from './grid';
import type { Sample, Summary } from './simulate';
import { timeChart, type TimeSeries } from './svg-time-chart';

const COLORS = ['#d95f02', '#7570b3', '#1b9e77', '#e7298a'];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const duration = (s: number | null) => (s === null ? 'not within the run' : s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);
const label = (c: Candidate) => `lagThreshold ${c.lagThreshold}, ${c.partitions} partitions, max ${c.maxReplicas}`;
const isChosen = (c: Candidate) => c.lagThreshold === CHOSEN.lagThreshold && c.partitions === CHOSEN.partitions && c.maxReplicas === CHOSEN.maxReplicas;

const HEADER = [
  '| lagThreshold | partitions | maxReplicas | peak lag | drained after the spike ends | peak replicas | replica-minutes | scale events | rebalances | p95 accept→consume | baseline: pods, p95 |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];

function cells(s: Summary): string {
  return [
    fmt(s.peakLag),
    duration(s.drainSecondsAfterSpike),
    s.peakReplicas,
    fmt(s.replicaMinutes),
    s.scaleEvents,
    s.rebalances,
    `${duration(s.p95LatencySeconds)}${s.latencyCensored ? ' (≥)' : ''}`,
    `${s.baselineReplicas.toFixed(1)}, ${duration(s.baselineP95LatencySeconds)}`,
  ].join(' | ');
}

/** The grid as markdown table lines; today's configuration in bold. */
export function tableRows(grid: readonly GridRow[]): string[] {
  return [
    ...HEADER,
    ...grid.map((r) => {
      const key = isChosen(r) ? [`**${r.lagThreshold}**`, `**${r.partitions}**`, `**${r.maxReplicas}**`] : [r.lagThreshold, r.partitions, r.maxReplicas];
      return `| ${key.join(' | ')} | ${cells(r.result.summary)} |`;
    }),
  ];
}

/** Every 10th sample, in minutes, for the plots. */
function series(samples: readonly Sample[], pick: (s: Sample) => number | null): [number, number | null][] {
  return samples.filter((s) => s.t % 10 === 0).map((s) => [s.t / 60, pick(s)]);
}

export function renderPlots(inputs: Inputs, compared: readonly GridRow[], variants: readonly { name: string; row: GridRow }[]): [string, string][] {
  const sc = scenarioFor(inputs);
  const band = { from: sc.spikeStartSeconds / 60, to: (sc.spikeStartSeconds + sc.spikeSeconds) / 60, label: `×${inputs.spikeFactor} spike` };
  const byConfig = (pick: (s: Sample) => number | null): TimeSeries[] =>
    compared.map((r, i) => ({ name: `${r.partitions} partitions / max ${r.maxReplicas}`, color: COLORS[i % COLORS.length]!, points: series(r.result.samples, pick) }));
  const first = compared[0]!;
  return [
    ['capacity-intake.svg', timeChart({
      title: `Intake vs drain capacity (μ = ${inputs.perConsumerPerSecond}/s per consumer)`,
      yLabel: 'orders/s',
      band,
      series: [
        { name: 'intake', color: '#666666', points: series(first.result.samples, (s) => s.arrivalPerSecond) },
        ...byConfig((s) => s.throughputPerSecond).map((s) => ({ ...s, name: `consumed: ${s.name}` })),
      ],
    })],
    ['capacity-lag.svg', timeChart({ title: `Consumer-group lag (lagThreshold ${CHOSEN.lagThreshold})`, yLabel: 'messages', band, series: byConfig((s) => s.lag) })],
    ['capacity-replicas.svg', timeChart({
      title: 'order-consumer replicas (solid) and the HPA\'s recommendation (dashed)',
      yLabel: 'pods',
      band,
      series: [
        ...byConfig((s) => s.replicas),
        ...byConfig((s) => s.desiredReplicas).map((s) => ({ ...s, name: '', dashed: true })),
      ],
    })],
    ['capacity-latency.svg', timeChart({ title: 'Accept → consume estimate (lag ÷ drain rate)', yLabel: 'seconds', band, series: byConfig((s) => s.latencyEstimateSeconds) })],
    ['capacity-behavior.svg', timeChart({
      title: `Replicas with 48 partitions / max 48 under three behaviors`,
      yLabel: 'pods',
      band,
      series: variants.map((v, i) => ({ name: v.name, color: COLORS[i % COLORS.length]!, points: series(v.row.result.samples, (s) => s.replicas) })),
    })],
  ];
}

export interface ReportInput {
  readonly inputs: Inputs;
  readonly grid: readonly GridRow[];
  readonly compared: readonly GridRow[];
  readonly variants: readonly { name: string; row: GridRow }[];
  /** Consumers the spike needs at μ. */
  readonly needed: number;
}

export function renderReport({ inputs, grid, compared, variants, needed }: ReportInput): string {
  const sc = scenarioFor(inputs);
  const spikeRate = inputs.baselinePerSecond * inputs.spikeFactor;
  const chosen = compared[0]!.result.summary;
  const best = compared.at(-1)!;
  const b = best.result.summary;
  const ceiling12 = 12 * inputs.perConsumerPerSecond;
  const byThreshold = grid.filter((r) => r.partitions === 48 && r.maxReplicas === 48);
  const args = [
    `--per-consumer=${inputs.perConsumerPerSecond}`, `--baseline=${inputs.baselinePerSecond}`, `--spike=${inputs.spikeFactor}`, `--spike-minutes=${inputs.spikeMinutes}`,
    `--startup=${inputs.podStartupSeconds}`, `--rebalance=${inputs.rebalancePauseSeconds}`, `--in-flight=${inputs.inFlightSeconds}`,
  ].join(' ');
  const lines = [
    '# Capacity model: KEDA/HPA against a cluster-scale spike',
    '',
    `Generated by \`npm run capacity\` (source: [loadtests/capacity](../../loadtests/capacity)); the same run with explicit inputs: \`npm run capacity -- ${args}\`.`,
    'How the numbers are used: [../autoscaling.md](../autoscaling.md#capacity-model).',
    '',
    '## Inputs',
    '',
    '| input | value | from |',
    '| --- | --- | --- |',
    `| μ: orders one consumer process confirms per second | ${inputs.perConsumerPerSecond} | one-consumer steady drain rate, ${inputs.source} |`,
    `| baseline intake | ${inputs.baselinePerSecond} orders/s | peak async intake of the same run (today's measured rate) |`,
    `| spike | ×${inputs.spikeFactor} = ${fmt(spikeRate)} orders/s for ${inputs.spikeMinutes} min, after ${sc.spikeStartSeconds / 60} quiet minutes; the run lasts ${sc.durationSeconds / 60} min | issue 7 |`,
    `| pod start-up (create → joined the group) | ${inputs.podStartupSeconds} s | assumption: a node with room already exists |`,
    `| rebalance pause on every membership change | ${inputs.rebalancePauseSeconds} s, the whole group stops | assumption (kafkajs eager protocol) |`,
    `| fetched but uncommitted work counted in lag | ${inputs.inFlightSeconds} s of throughput | assumption (kafkajs commits per batch) |`,
    '| KEDA / HPA | pollingInterval 15 s, HPA sync 15 s, tolerance 0.1, minReplicas 2, scale-up 0 s window max(+100 %, +4 pods)/30 s, scale-down 300 s window −25 %/60 s | cdk8s/src/environments.ts (EKS), cdk8s/src/constructs/autoscaling.ts |',
    '',
    `At μ = ${inputs.perConsumerPerSecond} the spike needs **${needed} consumers** — and as many partitions, since a partition never has two consumers in a group.`,
    `Today's ceiling, 12 partitions × μ = ${fmt(ceiling12)} orders/s, is ${(ceiling12 / inputs.baselinePerSecond).toFixed(1)}× the baseline.`,
    '',
    '## The model',
    '',
    'A one-second discrete-time simulation ([simulate.ts](../../loadtests/capacity/simulate.ts)):',
    '',
    '- **Kafka and the consumers** ([consumer-group.ts](../../loadtests/capacity/consumer-group.ts)): intake spread evenly over the partitions; each *ready* pod is one group member; partitions dealt round-robin (a member beyond the partition count gets none); each member works through its partitions at μ; a new pod joins after the start-up delay; every membership change pauses the whole group for the rebalance pause. Lag = backlog + in-flight work (committed offsets, what KEDA reads).',
    '- **KEDA** ([keda.ts](../../loadtests/capacity/keda.ts)): metric = min(totalLag, partitions × lagThreshold) (`allowIdleConsumers: false`); activation only decides 0 ↔ 1 and so does nothing with minReplicas 2.',
    '- **HPA** ([hpa.ts](../../loadtests/capacity/hpa.ts)), every 15 s: usageRatio = metric ÷ (lagThreshold × current replicas); inside the 0.1 tolerance no change, else ceil(metric ÷ lagThreshold); scale-up acts on the lowest recommendation in its window, scale-down on the highest; the policies limit the step by the replicas added or removed within each policy\'s period (selectPolicy Max / Min); then min/max.',
    '- **Latency**: the p95 column is the FIFO queueing delay of orders accepted from the spike\'s start (per partition, from cumulative arrivals and completions); the plot shows the simpler estimate lag ÷ (active consumers × μ). Neither includes the few milliseconds of processing itself.',
    '',
    '## Results',
    '',
    `Columns from the spike's start to the end of the run; "drained" = lag back at its pre-spike level. Replica-minutes are the cost. Today's configuration in bold.`,
    '',
    ...tableRows(grid),
    '',
    '![intake and consumption](plots/capacity-intake.svg)',
    '',
    '![lag](plots/capacity-lag.svg)',
    '',
    '![replicas](plots/capacity-replicas.svg)',
    '',
    '![latency estimate](plots/capacity-latency.svg)',
    '',
    '### Scale behavior with 48 consumers',
    '',
    `${label(best)}, three HPA behaviors:`,
    '',
    '| behavior | peak lag | drained after the spike ends | replica-minutes | scale events | rebalances | p95 accept→consume |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...variants.map((v) => {
      const s = v.row.result.summary;
      return `| ${v.name} | ${fmt(s.peakLag)} | ${duration(s.drainSecondsAfterSpike)} | ${fmt(s.replicaMinutes)} | ${s.scaleEvents} | ${s.rebalances} | ${duration(s.p95LatencySeconds)} |`;
    }),
    '',
    '![behaviors](plots/capacity-behavior.svg)',
    '',
    '## What it says',
    '',
    `- **Today's numbers do not survive a ×${inputs.spikeFactor} spike.** With ${label(CHOSEN)} the group is capped at ${fmt(ceiling12)} orders/s against ${fmt(spikeRate)} arriving: the backlog peaks at ${fmt(chosen.peakLag)} orders, takes ${duration(chosen.drainSecondsAfterSpike)} after the spike to drain, and the p95 order waits ${duration(chosen.p95LatencySeconds)}. No lagThreshold changes that — every 12-consumer row is the same — because the metric hits its cap (partitions × lagThreshold) within one 15 s sync.`,
    `- **The ceiling is partitions × μ.** Only ${label(best)} has room for the spike (${fmt(48 * inputs.perConsumerPerSecond)} orders/s): peak lag ${fmt(b.peakLag)}, drained ${duration(b.drainSecondsAfterSpike)} after the spike, p95 ${duration(b.p95LatencySeconds)} — the lag that remains is the ~2 minutes the scale-up needs (3 → 7 → 14 → 28 → 48 pods, 30 s apart, plus start-up and a rebalance at each step) while ${fmt(spikeRate)} orders/s arrive.`,
    `- **lagThreshold matters at the baseline, not in the spike.** At 48/48 the thresholds give baseline pods / p95 of ${byThreshold.map((r) => `${r.lagThreshold}: ${r.result.summary.baselineReplicas.toFixed(1)} / ${duration(r.result.summary.baselineP95LatencySeconds)}`).join('; ')} (${Math.ceil(inputs.baselinePerSecond / inputs.perConsumerPerSecond)} consumers would do). Low thresholds keep pods for in-flight work; high ones let a queue of several seconds build before adding a pod. 100 is a sound middle; keep it.`,
    `- **Scale-down dominates the cost.** After the spike, −1 pod a minute (the policy before this model) keeps 48 pods for ~45 minutes: ${fmt(variants[0]!.row.result.summary.replicaMinutes)} replica-minutes and ${variants[0]!.row.result.summary.rebalances} rebalances. Today's −25 % a minute gives ${fmt(variants[1]!.row.result.summary.replicaMinutes)} replica-minutes and ${variants[1]!.row.result.summary.rebalances} rebalances, still after the 300 s window that protects against waves.`,
    '',
    '## Recommendation',
    '',
    `For a ×${inputs.spikeFactor} spike at the measured μ: **${needed}+ partitions for order-events (48 keeps the even split: it divides evenly into 1, 2, 3, 4, 6, 8, 12, 16, 24 and 48 consumers), maxReplicaCount 48, lagThreshold 100 unchanged (the scale-down is already −25 %/60 s after a 300 s window), optionally scale-up max(+100 %, +16)/30 s.** Before raising partitions, check the two things the model takes as given: μ was measured on a shared 2-core machine (a 1-CPU pod may do several times more, which divides the consumers needed), and ${needed} consumers × μ = ${fmt(needed * inputs.perConsumerPerSecond)} confirmations/s must fit the order database (the local single-transaction ceiling is in [local-benchmark.md](local-benchmark.md)). If neither partitions nor μ can grow, the numbers say what a ×${inputs.spikeFactor} spike costs: a backlog of ~${fmt(chosen.peakLag)} orders, drained ${duration(chosen.drainSecondsAfterSpike)} after the spike.`,
    '',
  ];
  return lines.join('\n');
}
