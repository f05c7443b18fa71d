import { CONSUMER_BEHAVIOR } from '../defaults';
import { Hpa, limitByBehavior, replicasForAverageValue, scaleDownLimit, scaleUpLimit, stabilize, type ScalingRules } from '../hpa';

const spec = { minReplicas: 2, maxReplicas: 12, targetAverageValue: 100, behavior: CONSUMER_BEHAVIOR };

describe('usage ratio and tolerance (AverageValue on an External metric)', () => {
  test('a ratio of 1.05 is inside the 0.1 tolerance: 4 replicas stay 4', () => {
    const r = replicasForAverageValue(4, 420, 100);
    expect(r.usageRatio).toBeCloseTo(1.05);
    expect(r.replicas).toBe(4);
  });

  test('a ratio of 1.15 asks for ceil(metric / target) = 5', () => {
    expect(replicasForAverageValue(4, 460, 100).replicas).toBe(5);
  });

  test('a ratio of 0.85 asks for fewer: ceil(340 / 100) = 4 of 4 → 4, and of 5 → 4', () => {
    expect(replicasForAverageValue(5, 340, 100)).toEqual({ replicas: 4, usageRatio: 340 / 500 });
  });
});

describe('scale-up policies', () => {
  test('from 2 pods, +4 pods beats +100 %: selectPolicy Max allows 6', () => {
    expect(scaleUpLimit(0, 2, [], CONSUMER_BEHAVIOR.scaleUp)).toBe(6);
  });

  test('from 10 pods, +100 % beats +4 pods: Max allows 20', () => {
    expect(scaleUpLimit(0, 10, [], CONSUMER_BEHAVIOR.scaleUp)).toBe(20);
  });

  test('selectPolicy Min takes the smaller step: 2 → 4', () => {
    const rules: ScalingRules = { ...CONSUMER_BEHAVIOR.scaleUp, selectPolicy: 'Min' };
    expect(scaleUpLimit(0, 2, [], rules)).toBe(4);
  });

  test('additions inside the 30 s period count against it; once it has passed, the next step is allowed', () => {
    const events = [{ time: 0, change: 4 }];
    expect(scaleUpLimit(15, 6, events, CONSUMER_BEHAVIOR.scaleUp)).toBe(6); // period start 2 → max(4, 6)
    expect(scaleUpLimit(30, 6, events, CONSUMER_BEHAVIOR.scaleUp)).toBe(12); // event at 0 is outside (30 − 30, 30]
  });

  test('maxReplicas caps what the policies allow', () => {
    expect(limitByBehavior(0, 10, 40, [], spec)).toBe(12);
  });
});

describe('scale-down policies and minReplicas', () => {
  test('−1 pod per 60 s: one removal in the period blocks the next', () => {
    const onePod = { stabilizationWindowSeconds: 300, selectPolicy: 'Min' as const, policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }] };
    expect(scaleDownLimit(0, 6, [], onePod)).toBe(5);
    expect(scaleDownLimit(45, 5, [{ time: 0, change: -1 }], onePod)).toBe(5);
  });

  test('−25 % per 60 s (the consumer): a quarter of the period-start replicas, truncated, so 2 → 1 and 48 → 36', () => {
    expect(scaleDownLimit(0, 48, [], CONSUMER_BEHAVIOR.scaleDown)).toBe(36);
    expect(scaleDownLimit(0, 2, [], CONSUMER_BEHAVIOR.scaleDown)).toBe(1);
    // 12 removed at t=0: until t=60 the period started at 48, so 36 is still the limit.
    expect(scaleDownLimit(45, 36, [{ time: 0, change: -12 }], CONSUMER_BEHAVIOR.scaleDown)).toBe(36);
  });

  test('minReplicas is the floor however low the metric', () => {
    expect(limitByBehavior(0, 3, 0, [], { ...spec, behavior: { ...CONSUMER_BEHAVIOR, scaleDown: { ...CONSUMER_BEHAVIOR.scaleDown, policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }] } } })).toBe(2);
  });
});

describe('stabilization windows', () => {
  test('scale-down uses the highest recommendation of the last 300 s', () => {
    const history = [{ time: 100, replicas: 8 }, { time: 200, replicas: 3 }];
    expect(stabilize(250, 8, 3, history, CONSUMER_BEHAVIOR)).toBe(8);
    expect(stabilize(401, 8, 3, history, CONSUMER_BEHAVIOR)).toBe(3);
  });

  test('scale-up with a 0 s window acts on the current recommendation only', () => {
    expect(stabilize(30, 2, 9, [{ time: 15, replicas: 2 }], CONSUMER_BEHAVIOR)).toBe(9);
  });

  test('a scale-up window uses the lowest recommendation inside it', () => {
    const behavior = { ...CONSUMER_BEHAVIOR, scaleUp: { ...CONSUMER_BEHAVIOR.scaleUp, stabilizationWindowSeconds: 60 } };
    expect(stabilize(30, 2, 9, [{ time: 15, replicas: 4 }], behavior)).toBe(4);
  });
});

describe('Hpa.sync over time', () => {
  test('after the lag disappears, 6 replicas stay 6 for 300 s, then lose a quarter a minute: 4 at 300 s, 3 at 360 s', () => {
    const hpa = new Hpa(spec);
    let replicas = hpa.sync(0, 6, 600).replicas;
    const seen = new Map<number, number>();
    for (let t = 15; t <= 360; t += 15) {
      replicas = hpa.sync(t, replicas, 100).replicas;
      seen.set(t, replicas);
    }
    expect(seen.get(285)).toBe(6);
    expect(seen.get(300)).toBe(4); // trunc(6 × 0.75)
    expect(seen.get(345)).toBe(4); // still inside the 60 s period
    expect(seen.get(360)).toBe(3); // trunc(4 × 0.75)
  });

  test('a backlog far above target takes 2 → 6 → 12 one 30 s period apart', () => {
    const hpa = new Hpa(spec);
    const path = [0, 15, 30].map((t) => t).reduce<number[]>((acc, t) => [...acc, hpa.sync(t, acc.at(-1) ?? 2, 18_000).replicas], []);
    expect(path).toEqual([6, 6, 12]);
  });
});
