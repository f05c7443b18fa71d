import { CLUSTER_DEFAULTS, CONSUMER_BEHAVIOR, EKS_CONSUMER } from './defaults';
import type { Behavior } from './hpa';
import { simulate, type AutoscalerConfig, type SimulationResult, type SpikeScenario } from './simulate';
import type { GroupModel } from './consumer-group';

export interface Inputs {
  /** μ, from the benchmark's one-consumer drain. */
  readonly perConsumerPerSecond: number;
  /** Today's async intake (orders/s), from the benchmark. */
  readonly baselinePerSecond: number;
  /** Where the two figures came from. */
  readonly source: string;
  readonly spikeFactor: number;
  readonly spikeMinutes: number;
  readonly podStartupSeconds: number;
  readonly rebalancePauseSeconds: number;
  readonly inFlightSeconds: number;
}

export interface Candidate {
  readonly lagThreshold: number;
  readonly partitions: number;
  readonly maxReplicas: number;
}

export interface GridRow extends Candidate {
  readonly result: SimulationResult;
}

export const LAG_THRESHOLDS = [50, 100, 250, 500, 1000] as const;
export const PARTITION_COUNTS = [12, 24, 48] as const;
export const MAX_REPLICAS = [12, 24, 48] as const;
export const CHOSEN: Candidate = { lagThreshold: EKS_CONSUMER.lagThreshold, partitions: 12, maxReplicas: EKS_CONSUMER.maxReplicas };

/** 10 quiet minutes (the HPA settles at the baseline), the spike, then an hour for draining and scaling down. */
export function scenarioFor(inputs: Inputs): SpikeScenario {
  return {
    baselinePerSecond: inputs.baselinePerSecond,
    spikeFactor: inputs.spikeFactor,
    spikeStartSeconds: 600,
    spikeSeconds: inputs.spikeMinutes * 60,
    durationSeconds: 600 + inputs.spikeMinutes * 60 + 3600,
  };
}

export function groupFor(inputs: Inputs, partitions: number): GroupModel {
  return {
    ...CLUSTER_DEFAULTS,
    partitions,
    perConsumerPerSecond: inputs.perConsumerPerSecond,
    podStartupSeconds: inputs.podStartupSeconds,
    rebalancePauseSeconds: inputs.rebalancePauseSeconds,
    inFlightSeconds: inputs.inFlightSeconds,
  };
}

export function autoscalerFor(c: Candidate, behavior: Behavior = CONSUMER_BEHAVIOR): AutoscalerConfig {
  return { ...EKS_CONSUMER, lagThreshold: c.lagThreshold, maxReplicas: c.maxReplicas, behavior };
}

export function runCandidate(inputs: Inputs, c: Candidate, behavior?: Behavior): GridRow {
  return { ...c, result: simulate(scenarioFor(inputs), groupFor(inputs, c.partitions), autoscalerFor(c, behavior)) };
}

/**
 * Behavior alternatives for a 48-consumer ceiling: the one-pod-a-minute scale-down used before the model, today's
 * (a quarter a minute), and today's plus up to 16 pods added at a time.
 */
export const BEHAVIOR_VARIANTS: readonly { readonly name: string; readonly behavior: Behavior }[] = [
  {
    name: 'before: down −1 pod/60 s',
    behavior: { ...CONSUMER_BEHAVIOR, scaleDown: { ...CONSUMER_BEHAVIOR.scaleDown, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
  },
  { name: 'today: up max(+100 %, +4)/30 s; down −25 %/60 s', behavior: CONSUMER_BEHAVIOR },
  {
    name: 'up max(+100 %, +16)/30 s; down −25 %/60 s',
    behavior: {
      scaleUp: { ...CONSUMER_BEHAVIOR.scaleUp, policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }, { type: 'Pods', value: 16, periodSeconds: 30 }] },
      scaleDown: CONSUMER_BEHAVIOR.scaleDown,
    },
  },
];

/** Every lagThreshold × partitions × maxReplicas (≤ partitions) combination. */
export function runGrid(inputs: Inputs): GridRow[] {
  const rows: GridRow[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const maxReplicas of MAX_REPLICAS.filter((m) => m <= partitions)) {
      for (const lagThreshold of LAG_THRESHOLDS) rows.push(runCandidate(inputs, { lagThreshold, partitions, maxReplicas }));
    }
  }
  return rows;
}
