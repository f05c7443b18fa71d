/**
 * A fluid model of one Kafka consumer group on one topic: messages arrive spread evenly over the
 * partitions, each ready pod is one group member, partitions are dealt round-robin over the members (a
 * member beyond the partition count gets none), each member works through its partitions at μ
 * messages/s shared among those with a backlog, and every membership change pauses the whole group
 * for a rebalance (kafkajs uses the eager protocol: everybody revokes, rejoins, then resumes).
 */

export interface GroupModel {
  readonly partitions: number;
  /** μ: messages one consumer process completes per second while it has work. */
  readonly perConsumerPerSecond: number;
  /** From the Deployment creating a pod until it has joined the group (scheduling, image, Node start-up, join). */
  readonly podStartupSeconds: number;
  /** Seconds the whole group stops consuming after each membership change. */
  readonly rebalancePauseSeconds: number;
  /**
   * Work fetched but not yet committed, in seconds of throughput: committed-offset lag (what KEDA reads)
   * is the backlog plus this. kafkajs commits after each batch.
   */
  readonly inFlightSeconds: number;
}

interface Pod {
  readonly id: number;
  readonly readyAt: number;
}

/** Partitions of each member under round-robin assignment (member i gets p ≡ i mod n). */
export function assignPartitions(partitions: number, members: number): number[][] {
  const out: number[][] = Array.from({ length: members }, () => []);
  if (members === 0) return out;
  for (let p = 0; p < partitions; p++) out[p % members]!.push(p);
  return out;
}

/** Serves `capacity` messages over backlogs (equal shares, leftovers to those still behind); returns what was served per entry. */
export function shareCapacity(backlogs: readonly number[], capacity: number): number[] {
  const served = backlogs.map(() => 0);
  const order = backlogs.map((b, i) => ({ b, i })).sort((x, y) => x.b - y.b);
  let left = capacity;
  order.forEach(({ b, i }, k) => {
    const share = left / (order.length - k);
    const take = Math.min(b, share);
    served[i] = take;
    left -= take;
  });
  return served;
}

export class ConsumerGroup {
  readonly backlog: number[];
  /** Cumulative arrivals and completions per partition, one entry per step (for FIFO latencies). */
  readonly arrived: number[][];
  readonly completed: number[][];
  private pods: Pod[] = [];
  private nextPodId = 0;
  private members: number[] = [];
  private pausedUntil = -Infinity;
  private lastServed = 0;
  rebalances = 0;

  constructor(readonly model: GroupModel, initialReplicas: number) {
    if (!(model.partitions >= 1 && Number.isInteger(model.partitions))) throw new Error(`partitions=${model.partitions}: must be an integer ≥ 1`);
    if (!(model.perConsumerPerSecond > 0)) throw new Error(`perConsumerPerSecond=${model.perConsumerPerSecond}: must be > 0`);
    this.backlog = Array.from({ length: model.partitions }, () => 0);
    this.arrived = this.backlog.map(() => []);
    this.completed = this.backlog.map(() => []);
    for (let i = 0; i < initialReplicas; i++) this.pods.push({ id: this.nextPodId++, readyAt: -Infinity });
    this.members = this.pods.map((p) => p.id);
  }

  /** Pods that exist (starting or running): what the Deployment's status.replicas counts and what costs money. */
  get replicas(): number {
    return this.pods.length;
  }

  get memberCount(): number {
    return this.members.length;
  }

  /** Members that own at least one partition. */
  get activeConsumers(): number {
    return Math.min(this.members.length, this.model.partitions);
  }

  isRebalancing(now: number): boolean {
    return now < this.pausedUntil;
  }

  /** Messages not yet processed. */
  get backlogTotal(): number {
    return this.backlog.reduce((a, b) => a + b, 0);
  }

  /** Committed-offset lag summed over partitions: what KEDA's scaler and the Kafka exporter report. */
  get committedLag(): number {
    return this.backlogTotal + this.lastServed * this.model.inFlightSeconds;
  }

  /** The Deployment's new replica count: new pods join after the start-up delay; removals take not-ready, then the newest pods. */
  scaleTo(now: number, replicas: number): void {
    while (this.pods.length < replicas) this.pods.push({ id: this.nextPodId++, readyAt: now + this.model.podStartupSeconds });
    if (this.pods.length > replicas) {
      const byRemovalOrder = [...this.pods].sort((a, b) => Number(a.readyAt <= now) - Number(b.readyAt <= now) || b.id - a.id);
      const gone = new Set(byRemovalOrder.slice(0, this.pods.length - replicas).map((p) => p.id));
      this.pods = this.pods.filter((p) => !gone.has(p.id));
    }
  }

  /** Advances by dt seconds with `arrivalRate` messages/s arriving. */
  step(now: number, dt: number, arrivalRate: number): void {
    const members = this.pods.filter((p) => p.readyAt <= now).map((p) => p.id);
    if (members.length !== this.members.length || members.some((id, i) => id !== this.members[i])) {
      this.members = members;
      this.rebalances++;
      this.pausedUntil = now + this.model.rebalancePauseSeconds;
    }
    const perPartition = (arrivalRate * dt) / this.model.partitions;
    let served = 0;
    for (let p = 0; p < this.model.partitions; p++) this.backlog[p]! += perPartition;
    if (!this.isRebalancing(now)) {
      for (const owned of assignPartitions(this.model.partitions, this.members.length)) {
        const take = shareCapacity(owned.map((p) => this.backlog[p]!), this.model.perConsumerPerSecond * dt);
        owned.forEach((p, k) => {
          this.backlog[p]! -= take[k]!;
          served += take[k]!;
        });
      }
    }
    this.lastServed = served / dt;
    for (let p = 0; p < this.model.partitions; p++) {
      const a = this.arrived[p]!;
      const c = this.completed[p]!;
      a.push((a.at(-1) ?? 0) + perPartition);
      c.push(a.at(-1)! - this.backlog[p]!);
    }
  }

  /** Messages completed per second in the last step. */
  get throughput(): number {
    return this.lastServed;
  }
}

/**
 * FIFO waiting time of every arrival cohort (step × partition): the step at which the partition's
 * cumulative completions pass the middle of the cohort, minus its arrival step. Returns one
 * (seconds, weight) pair per cohort arriving in [fromStep, toStep); cohorts never completed get the time
 * to the end and `censored: true`.
 */
export function cohortLatencies(group: ConsumerGroup, dt: number, fromStep: number, toStep = Infinity): { seconds: number; weight: number; censored: boolean }[] {
  const out: { seconds: number; weight: number; censored: boolean }[] = [];
  for (let p = 0; p < group.model.partitions; p++) {
    const a = group.arrived[p]!;
    const c = group.completed[p]!;
    let j = fromStep;
    for (let i = fromStep; i < Math.min(a.length, toStep); i++) {
      const before = i === 0 ? 0 : a[i - 1]!;
      const weight = a[i]! - before;
      if (weight <= 0) continue;
      const middle = before + weight / 2;
      if (j < i) j = i;
      while (j < c.length && c[j]! + 1e-9 < middle) j++;
      if (j >= c.length) out.push({ seconds: (c.length - i) * dt, weight, censored: true });
      else out.push({ seconds: (j - i + 0.5) * dt, weight, censored: false });
    }
  }
  return out;
}

/** Weighted quantile (q in 0..1) of (value, weight) pairs. */
export function weightedQuantile(samples: readonly { seconds: number; weight: number }[], q: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((x, y) => x.seconds - y.seconds);
  const total = sorted.reduce((s, x) => s + x.weight, 0);
  let acc = 0;
  for (const s of sorted) {
    acc += s.weight;
    if (acc >= q * total) return s.seconds;
  }
  return sorted.at(-1)!.seconds;
}
