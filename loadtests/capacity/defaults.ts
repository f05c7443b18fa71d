import type { Behavior } from './hpa';
import type { GroupModel } from './consumer-group';
import type { AutoscalerConfig } from './simulate';

/**
 * The consumer's scaling behavior as cdk8s renders it (CONSUMER_SCALING_BEHAVIOR in
 * cdk8s/src/constructs/autoscaling.ts; a test fails when the two differ). Repeated here so the model
 * builds without the cdk8s workspace.
 */
export const CONSUMER_BEHAVIOR: Behavior = {
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

/** The EKS environment's order-consumer autoscaling (cdk8s/src/environments.ts), as numbers. */
export const EKS_CONSUMER: AutoscalerConfig = {
  lagThreshold: 100,
  activationLagThreshold: 10,
  minReplicas: 2,
  maxReplicas: 12,
  pollingIntervalSeconds: 15,
  cooldownPeriodSeconds: 300,
  behavior: CONSUMER_BEHAVIOR,
};

/** Partitions of order-events today. */
export const PARTITIONS = 12;

/** Cluster assumptions the benchmark cannot measure; each is a flag of `npm run capacity`. */
export const CLUSTER_DEFAULTS: Omit<GroupModel, 'partitions' | 'perConsumerPerSecond'> = {
  // A pod on a node that already exists: schedule, start the container, Node start-up, join the group.
  podStartupSeconds: 30,
  // kafkajs eager rebalance: every member revokes, rejoins and syncs; a few seconds with 1–48 members.
  rebalancePauseSeconds: 5,
  // kafkajs commits after each batch; about a second of work is fetched but uncommitted.
  inFlightSeconds: 1,
};
