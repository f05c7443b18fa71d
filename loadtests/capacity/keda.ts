/**
 * KEDA's Kafka scaler (pkg/scalers/kafka_scaler.go) as the HPA sees it: the external metric is the group's
 * total lag, capped so that ceil(metric / lagThreshold) never asks for more consumers than partitions.
 */

export interface KafkaTrigger {
  /** Target lag per replica; the HPA's AverageValue. */
  readonly lagThreshold: number;
  /** Lag above which the scaler is active (only decides 0 ↔ 1 replicas). */
  readonly activationLagThreshold: number;
  /** Partitions of the topic. */
  readonly partitions: number;
  /** false (ours): the metric is capped at partitions × lagThreshold. */
  readonly allowIdleConsumers: boolean;
}

/** The external metric value KEDA's metrics server returns to the HPA. */
export function kafkaLagMetric(totalLag: number, trigger: KafkaTrigger): number {
  if (!trigger.allowIdleConsumers && totalLag / trigger.lagThreshold > trigger.partitions) {
    return trigger.partitions * trigger.lagThreshold;
  }
  return totalLag;
}

/** IsActive: KEDA scales 0 → 1 (and allows 1 → 0 after the cooldown) on this, not the HPA. */
export function kafkaIsActive(totalLag: number, trigger: KafkaTrigger): boolean {
  return totalLag > trigger.activationLagThreshold;
}

export interface KedaSpec {
  readonly trigger: KafkaTrigger;
  /** minReplicaCount; 0 lets KEDA scale to zero. */
  readonly minReplicaCount: number;
  readonly pollingIntervalSeconds: number;
  /** Seconds without activity before KEDA scales to 0 (only with minReplicaCount 0). */
  readonly cooldownPeriodSeconds: number;
}

/**
 * The KEDA operator's own loop (every pollingInterval): with minReplicaCount 0 it wakes the Deployment
 * from 0 to 1 when the scaler is active and puts it back to 0 after cooldownPeriod of inactivity.
 * Between 1 and max replicas the HPA decides; with minReplicaCount ≥ 1 this loop changes nothing.
 */
export class KedaOperator {
  private lastActive = -Infinity;
  private nextPoll = 0;

  constructor(readonly spec: KedaSpec) {}

  /** Returns the replicas the operator sets now, or undefined when it leaves them alone. */
  poll(now: number, replicas: number, totalLag: number): number | undefined {
    if (now < this.nextPoll) return undefined;
    this.nextPoll = now + this.spec.pollingIntervalSeconds;
    const active = kafkaIsActive(totalLag, this.spec.trigger);
    if (active) this.lastActive = now;
    if (this.spec.minReplicaCount > 0) return undefined;
    if (replicas === 0 && active) return 1;
    if (replicas > 0 && !active && now - this.lastActive >= this.spec.cooldownPeriodSeconds) return 0;
    return undefined;
  }
}
