// No imports on purpose: small and self-contained, the rules the ScaledObject's HPA gets (docs/autoscaling.md).

/** One HPA scaling rule (shared by KEDA's generated HPA and the plain one, whose schemas are the same). */
export interface ScalingPolicy { readonly type: 'Pods' | 'Percent'; readonly value: number; readonly periodSeconds: number }
export interface ScalingRules { readonly stabilizationWindowSeconds: number; readonly selectPolicy: 'Max' | 'Min'; readonly policies: ScalingPolicy[] }

/**
 * Lag-driven scaling of the order consumers: react to a backlog within one period (double, or +4 pods, whichever
 * is more); after five quiet minutes give back a quarter of the pods a minute (the HPA truncates, so at least one
 * from 2 pods up). Every scale step rebalances the consumer group (a pause of all partitions): the window keeps
 * bursty traffic from flapping, and quarter steps need ~12 rebalances instead of 47 to come down from 48 pods
 * (docs/autoscaling.md; measured for real in docs/performance/autoscaling-experiment.md).
 */
export const CONSUMER_SCALING_BEHAVIOR: { readonly scaleUp: ScalingRules; readonly scaleDown: ScalingRules } = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }, { type: 'Pods', value: 4, periodSeconds: 30 }],
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Min',
    policies: [{ type: 'Percent', value: 25, periodSeconds: 60 }],
  },
};
