import { assignPartitions, ConsumerGroup, shareCapacity } from '../consumer-group';
import { CONSUMER_BEHAVIOR, EKS_CONSUMER } from '../defaults';
import { kafkaIsActive, kafkaLagMetric, KedaOperator } from '../keda';
import { simulate } from '../simulate';

const trigger = { lagThreshold: 100, activationLagThreshold: 10, partitions: 12, allowIdleConsumers: false };
const group = { partitions: 12, perConsumerPerSecond: 150, podStartupSeconds: 10, rebalancePauseSeconds: 5, inFlightSeconds: 0 };

describe('KEDA kafka scaler', () => {
  test('a lag of 50,000 is reported as 12 partitions × 100 = 1,200, so the HPA asks for at most 12', () => {
    expect(kafkaLagMetric(50_000, trigger)).toBe(1200);
    expect(kafkaLagMetric(50_000, { ...trigger, allowIdleConsumers: true })).toBe(50_000);
    expect(kafkaLagMetric(900, trigger)).toBe(900);
  });

  test('activation needs lag above the threshold, and only matters at minReplicaCount 0', () => {
    expect(kafkaIsActive(10, trigger)).toBe(false);
    expect(kafkaIsActive(11, trigger)).toBe(true);
    const toZero = new KedaOperator({ trigger, minReplicaCount: 0, pollingIntervalSeconds: 15, cooldownPeriodSeconds: 300 });
    expect(toZero.poll(0, 0, 50)).toBe(1);
    expect(toZero.poll(5, 0, 50)).toBeUndefined(); // between polls
    const floorTwo = new KedaOperator({ trigger, minReplicaCount: 2, pollingIntervalSeconds: 15, cooldownPeriodSeconds: 300 });
    expect(floorTwo.poll(0, 2, 0)).toBeUndefined();
  });
});

describe('consumer group', () => {
  test('12 partitions over 5 members are dealt 3, 3, 2, 2, 2; members 13 and 14 get none', () => {
    expect(assignPartitions(12, 5).map((a) => a.length)).toEqual([3, 3, 2, 2, 2]);
    expect(assignPartitions(12, 14).filter((a) => a.length === 0)).toHaveLength(2);
  });

  test('a consumer shares its capacity over backlogged partitions, giving leftovers to the longer ones', () => {
    expect(shareCapacity([10, 100, 100], 150)).toEqual([10, 70, 70]);
  });

  test('a joining pod pauses the whole group for the rebalance, then it consumes again', () => {
    const g = new ConsumerGroup(group, 2);
    g.scaleTo(0, 3);
    const throughput: number[] = [];
    for (let t = 0; t < 20; t++) {
      g.step(t, 1, 600);
      throughput.push(g.throughput);
    }
    expect(throughput[9]).toBeCloseTo(300); // 2 members
    expect(throughput.slice(10, 15)).toEqual([0, 0, 0, 0, 0]); // pod ready at 10: rebalance 10..14
    expect(throughput[15]).toBeGreaterThan(300); // 3 members working off the backlog
    expect(g.rebalances).toBe(1);
  });

  test('with 12 partitions, a 20× spike is drained at no more than 12 × μ', () => {
    const run = simulate(
      { baselinePerSecond: 300, spikeFactor: 20, spikeStartSeconds: 120, spikeSeconds: 300, durationSeconds: 900 },
      group,
      { ...EKS_CONSUMER, behavior: CONSUMER_BEHAVIOR },
    );
    const peak = Math.max(...run.samples.map((s) => s.throughputPerSecond));
    expect(peak).toBeLessThanOrEqual(12 * 150 + 1e-6);
    expect(run.summary.peakReplicas).toBe(12);
    expect(Math.max(...run.samples.map((s) => s.desiredReplicas))).toBe(12);
  });

  test('maxReplicas above the partitions is refused', () => {
    expect(() => simulate({ baselinePerSecond: 1, spikeFactor: 1, spikeStartSeconds: 0, spikeSeconds: 0, durationSeconds: 1 }, group, { ...EKS_CONSUMER, maxReplicas: 13 })).toThrow(/maxReplicas=13: must be ≤ the 12 partitions/);
  });
});
