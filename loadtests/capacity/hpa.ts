/**
 * The Kubernetes HPA algorithm (autoscaling/v2, pkg/controller/podautoscaler), reduced to the parts that
 * decide replicas for one External metric with an AverageValue target: the usage ratio and its tolerance,
 * the stabilization windows, the behavior policies over past scale events, and the min/max clamp.
 */

export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly ScalingPolicy[];
}

export interface Behavior {
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

export interface HpaSpec {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** The AverageValue target (KEDA: lagThreshold). */
  readonly targetAverageValue: number;
  readonly behavior: Behavior;
  /** --horizontal-pod-autoscaler-tolerance. @default 0.1 */
  readonly tolerance?: number;
}

/** A replica change the HPA made, as the controller remembers it for its policies. */
export interface ScaleEvent {
  readonly time: number;
  /** Replicas added (> 0) or removed (< 0). */
  readonly change: number;
}

export interface Recommendation {
  readonly time: number;
  readonly replicas: number;
}

/**
 * Replicas for an External metric with an AverageValue target (GetExternalPerPodMetricReplicas):
 * usageRatio = metric / (target × currentReplicas); inside the tolerance nothing changes, otherwise
 * ceil(metric / target).
 */
export function replicasForAverageValue(currentReplicas: number, metric: number, target: number, tolerance = 0.1): { replicas: number; usageRatio: number } {
  const usageRatio = metric / (target * currentReplicas);
  if (Math.abs(1 - usageRatio) <= tolerance) return { replicas: currentReplicas, usageRatio };
  return { replicas: Math.ceil(metric / target), usageRatio };
}

/**
 * stabilizeRecommendationWithBehaviors: scale-up acts on the lowest recommendation inside its window,
 * scale-down on the highest inside its window, both including the current one; the result never moves
 * past the current replicas in the wrong direction. `history` holds earlier raw recommendations.
 */
export function stabilize(now: number, currentReplicas: number, recommendation: number, history: readonly Recommendation[], behavior: Behavior): number {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds;
  let up = recommendation;
  let down = recommendation;
  for (const r of history) {
    if (r.time > upCutoff) up = Math.min(up, r.replicas);
    if (r.time > downCutoff) down = Math.max(down, r.replicas);
  }
  let result = currentReplicas;
  if (result < up) result = up;
  if (result > down) result = down;
  return result;
}

/** Sum of the additions (or removals) among events strictly inside the last `periodSeconds`. */
function changeInPeriod(now: number, periodSeconds: number, events: readonly ScaleEvent[], sign: 1 | -1): number {
  const cutoff = now - periodSeconds;
  let sum = 0;
  for (const e of events) if (e.time > cutoff && Math.sign(e.change) === sign) sum += Math.abs(e.change);
  return sum;
}

/** calculateScaleUpLimitWithScalingRules: the most replicas the scale-up policies allow now. */
export function scaleUpLimit(now: number, currentReplicas: number, events: readonly ScaleEvent[], rules: ScalingRules): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const periodStart = currentReplicas - changeInPeriod(now, p.periodSeconds, events, 1) + changeInPeriod(now, p.periodSeconds, events, -1);
    const proposed = p.type === 'Pods' ? periodStart + p.value : Math.ceil(periodStart * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** calculateScaleDownLimitWithBehaviors: the fewest replicas the scale-down policies allow now. */
export function scaleDownLimit(now: number, currentReplicas: number, events: readonly ScaleEvent[], rules: ScalingRules): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  // For scale-down the smallest change ('Min') is the highest replica count.
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const periodStart = currentReplicas - changeInPeriod(now, p.periodSeconds, events, 1) + changeInPeriod(now, p.periodSeconds, events, -1);
    const proposed = p.type === 'Pods' ? periodStart - p.value : Math.trunc(periodStart * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** convertDesiredReplicasWithBehaviorRate: the policies' rate limit, then minReplicas/maxReplicas. */
export function limitByBehavior(now: number, currentReplicas: number, desired: number, events: readonly ScaleEvent[], spec: HpaSpec): number {
  if (desired > currentReplicas) {
    const limit = Math.max(scaleUpLimit(now, currentReplicas, events, spec.behavior.scaleUp), currentReplicas);
    return Math.min(desired, Math.min(spec.maxReplicas, limit));
  }
  if (desired < currentReplicas) {
    const limit = Math.min(scaleDownLimit(now, currentReplicas, events, spec.behavior.scaleDown), currentReplicas);
    return Math.max(desired, Math.max(spec.minReplicas, limit));
  }
  return desired;
}

export interface HpaDecision {
  /** ceil(metric / target) (or the current replicas inside the tolerance), clamped to min/max: what the metric asks for. */
  readonly recommended: number;
  readonly usageRatio: number;
  /** After stabilization and the policies: what the HPA writes to the Deployment. */
  readonly replicas: number;
}

/** One HPA for one target; `sync` is one reconcile (every --horizontal-pod-autoscaler-sync-period). */
export class Hpa {
  private readonly history: Recommendation[] = [];
  private initialized = false;
  readonly events: ScaleEvent[] = [];
  /** Replica changes made since creation. */
  eventCount = 0;

  constructor(readonly spec: HpaSpec) {
    if (spec.minReplicas < 1 || spec.maxReplicas < spec.minReplicas) {
      throw new Error(`HPA minReplicas=${spec.minReplicas}, maxReplicas=${spec.maxReplicas}: need 1 ≤ min ≤ max`);
    }
    if (!(spec.targetAverageValue > 0)) throw new Error(`HPA targetAverageValue=${spec.targetAverageValue}: must be > 0`);
  }

  sync(now: number, currentReplicas: number, metric: number): HpaDecision {
    const { minReplicas, maxReplicas } = this.spec;
    // maybeInitScaleDownStabilizationWindow: a new HPA does not scale down at once.
    if (!this.initialized && this.spec.behavior.scaleDown.stabilizationWindowSeconds > 0) this.remember(now, currentReplicas);
    this.initialized = true;
    let recommended: number;
    let usageRatio = NaN;
    if (currentReplicas > maxReplicas) recommended = maxReplicas;
    else if (currentReplicas < minReplicas) recommended = minReplicas;
    else {
      const r = replicasForAverageValue(currentReplicas, metric, this.spec.targetAverageValue, this.spec.tolerance ?? 0.1);
      recommended = r.replicas;
      usageRatio = r.usageRatio;
    }
    const stabilized = stabilize(now, currentReplicas, recommended, this.history, this.spec.behavior);
    this.remember(now, recommended);
    const replicas = limitByBehavior(now, currentReplicas, stabilized, this.events, this.spec);
    if (replicas !== currentReplicas) {
      this.events.push({ time: now, change: replicas - currentReplicas });
      this.eventCount++;
    }
    this.forget(now);
    return { recommended: Math.min(maxReplicas, Math.max(minReplicas, recommended)), usageRatio, replicas };
  }

  private remember(now: number, replicas: number): void {
    this.history.push({ time: now, replicas });
  }

  /** Drops what no window or period can see any more. */
  private forget(now: number): void {
    const { scaleUp, scaleDown } = this.spec.behavior;
    const keep = Math.max(
      scaleUp.stabilizationWindowSeconds,
      scaleDown.stabilizationWindowSeconds,
      ...scaleUp.policies.map((p) => p.periodSeconds),
      ...scaleDown.policies.map((p) => p.periodSeconds),
    );
    while (this.history.length > 0 && this.history[0]!.time <= now - keep) this.history.shift();
    while (this.events.length > 0 && this.events[0]!.time <= now - keep) this.events.shift();
  }
}
