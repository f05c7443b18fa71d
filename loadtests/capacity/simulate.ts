import { cohortLatencies, ConsumerGroup, weightedQuantile, type GroupModel } from './consumer-group';
import { Hpa, type Behavior } from './hpa';
import { KedaOperator, kafkaLagMetric } from './keda';

/** What KEDA and its HPA are configured with (the cdk8s ConsumerLagAutoscaler's inputs). */
export interface AutoscalerConfig {
  readonly lagThreshold: number;
  readonly activationLagThreshold: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly pollingIntervalSeconds: number;
  readonly cooldownPeriodSeconds: number;
  readonly behavior: Behavior;
  /** kube-controller-manager --horizontal-pod-autoscaler-sync-period. @default 15 */
  readonly hpaSyncPeriodSeconds?: number;
  /** @default 0.1 */
  readonly tolerance?: number;
}

/** Intake over time: a flat baseline with one rectangular spike. */
export interface SpikeScenario {
  readonly baselinePerSecond: number;
  readonly spikeFactor: number;
  readonly spikeStartSeconds: number;
  readonly spikeSeconds: number;
  readonly durationSeconds: number;
}

export function arrivalRate(s: SpikeScenario, t: number): number {
  const inSpike = t >= s.spikeStartSeconds && t < s.spikeStartSeconds + s.spikeSeconds;
  return s.baselinePerSecond * (inSpike ? s.spikeFactor : 1);
}

/** One sample per simulated second. */
export interface Sample {
  readonly t: number;
  readonly arrivalPerSecond: number;
  readonly throughputPerSecond: number;
  /** Committed-offset lag (what KEDA reads). */
  readonly lag: number;
  /** Pods of the Deployment (starting or running). */
  readonly replicas: number;
  /** Pods that are group members. */
  readonly members: number;
  /** The HPA's last metric-based recommendation, clamped to min/max (before stabilization and policies). */
  readonly desiredReplicas: number;
  /** lag ÷ the group's drain rate (active consumers × μ): how long an order accepted now waits; null with no consumer. */
  readonly latencyEstimateSeconds: number | null;
  readonly rebalancing: boolean;
}

export interface Summary {
  readonly peakLag: number;
  /** Seconds from the spike's end until the lag is back at its pre-spike level; null: not within the run. */
  readonly drainSecondsAfterSpike: number | null;
  readonly peakReplicas: number;
  /** Σ pods × minutes from the spike's start to the end of the run. */
  readonly replicaMinutes: number;
  /** Replica changes (HPA and KEDA) from the spike's start. */
  readonly scaleEvents: number;
  /** Group rebalances (membership changes) from the spike's start. */
  readonly rebalances: number;
  /** Queueing delay (accept → consumed, FIFO per partition) of orders accepted from the spike's start. */
  readonly p95LatencySeconds: number;
  readonly maxLatencySeconds: number;
  /** Some orders were still waiting when the run ended (their latencies are lower bounds). */
  readonly latencyCensored: boolean;
  /** The 5 minutes before the spike: mean pods and p95 queueing delay at the baseline intake. */
  readonly baselineReplicas: number;
  readonly baselineP95LatencySeconds: number;
}

export interface SimulationResult {
  readonly samples: Sample[];
  readonly summary: Summary;
}

const DT = 1;

/** Runs the scenario second by second: intake → group → (every sync period) KEDA metric → HPA → Deployment. */
export function simulate(scenario: SpikeScenario, group: GroupModel, autoscaler: AutoscalerConfig, initialReplicas = autoscaler.minReplicas): SimulationResult {
  if (autoscaler.maxReplicas > group.partitions) {
    throw new Error(`maxReplicas=${autoscaler.maxReplicas}: must be ≤ the ${group.partitions} partitions (consumers beyond that would sit idle)`);
  }
  const trigger = { lagThreshold: autoscaler.lagThreshold, activationLagThreshold: autoscaler.activationLagThreshold, partitions: group.partitions, allowIdleConsumers: false };
  const hpa = new Hpa({
    minReplicas: Math.max(1, autoscaler.minReplicas),
    maxReplicas: autoscaler.maxReplicas,
    targetAverageValue: autoscaler.lagThreshold,
    behavior: autoscaler.behavior,
    tolerance: autoscaler.tolerance ?? 0.1,
  });
  const keda = new KedaOperator({
    trigger,
    minReplicaCount: autoscaler.minReplicas,
    pollingIntervalSeconds: autoscaler.pollingIntervalSeconds,
    cooldownPeriodSeconds: autoscaler.cooldownPeriodSeconds,
  });
  const consumers = new ConsumerGroup(group, initialReplicas);
  const syncPeriod = autoscaler.hpaSyncPeriodSeconds ?? 15;
  const samples: Sample[] = [];
  let desired = initialReplicas;
  let kedaChanges = 0;
  const atSpikeStart = { scaleEvents: 0, rebalances: 0 };

  for (let t = 0; t < scenario.durationSeconds; t += DT) {
    if (t === scenario.spikeStartSeconds) Object.assign(atSpikeStart, { scaleEvents: hpa.eventCount + kedaChanges, rebalances: consumers.rebalances });
    const lambda = arrivalRate(scenario, t);
    consumers.step(t, DT, lambda);
    const lag = consumers.committedLag;
    const woken = keda.poll(t, consumers.replicas, lag);
    if (woken !== undefined && woken !== consumers.replicas) {
      consumers.scaleTo(t, woken);
      kedaChanges++;
    }
    // A Deployment at 0 replicas disables the HPA ("scaling is disabled since the replica count of the target is zero").
    if (t % syncPeriod === 0 && consumers.replicas > 0) {
      const decision = hpa.sync(t, consumers.replicas, kafkaLagMetric(lag, trigger));
      desired = decision.recommended;
      if (decision.replicas !== consumers.replicas) consumers.scaleTo(t, decision.replicas);
    }
    const drainRate = consumers.activeConsumers * group.perConsumerPerSecond;
    samples.push({
      t,
      arrivalPerSecond: lambda,
      throughputPerSecond: consumers.throughput,
      lag,
      replicas: consumers.replicas,
      members: consumers.memberCount,
      desiredReplicas: desired,
      latencyEstimateSeconds: drainRate > 0 ? lag / drainRate : null,
      rebalancing: consumers.isRebalancing(t),
    });
  }

  const spikeStart = scenario.spikeStartSeconds / DT;
  const spikeEnd = (scenario.spikeStartSeconds + scenario.spikeSeconds) / DT;
  const before = samples.slice(Math.max(0, spikeStart - 300 / DT), spikeStart);
  const baselineLag = Math.max(1.1 * Math.max(0, ...before.map((s) => s.lag)), scenario.baselinePerSecond * 5);
  const drainedAt = samples.findIndex((s, i) => i >= spikeEnd && s.lag <= baselineLag);
  const after = samples.slice(spikeStart);
  const latencies = cohortLatencies(consumers, DT, spikeStart);
  const quiet = cohortLatencies(consumers, DT, Math.max(0, spikeStart - 300 / DT), spikeStart);
  return {
    samples,
    summary: {
      peakLag: samples.reduce((m, s) => Math.max(m, s.lag), 0),
      drainSecondsAfterSpike: drainedAt < 0 ? null : (drainedAt - spikeEnd) * DT,
      peakReplicas: samples.reduce((m, s) => Math.max(m, s.replicas), 0),
      replicaMinutes: after.reduce((a, s) => a + s.replicas * DT, 0) / 60,
      scaleEvents: hpa.eventCount + kedaChanges - atSpikeStart.scaleEvents,
      rebalances: consumers.rebalances - atSpikeStart.rebalances,
      p95LatencySeconds: weightedQuantile(latencies, 0.95),
      maxLatencySeconds: latencies.reduce((m, l) => Math.max(m, l.seconds), 0),
      latencyCensored: latencies.some((l) => l.censored),
      baselineReplicas: before.reduce((a, s) => a + s.replicas, 0) / Math.max(1, before.length),
      baselineP95LatencySeconds: weightedQuantile(quiet, 0.95),
    },
  };
}
