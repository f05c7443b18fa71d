import { CONSUMER_SCALING_BEHAVIOR } from '../../cdk8s/src/consumer-scaling';
import type { Behavior } from './hpa';
import type { GroupModel } from './consumer-group';
import type { AutoscalerConfig } from './simulate';

/** The consumer's scaling behavior: the very object cdk8s renders into the ScaledObject / HPA. */
export const CONSUMER_BEHAVIOR: Behavior = CONSUMER_SCALING_BEHAVIOR;

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
