import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { ScaledObject } from '../../imports/keda-keda.sh';
import { ConsumerAutoscalingMode } from '../environments';
import { CONSUMER_SCALING_BEHAVIOR } from '../consumer-scaling';
import { kafka } from '../platform-contract';

export interface CpuAutoscalerProps {
  /** Deployment to scale (also the HPA's name). */
  readonly deploymentName: string;
  readonly labels: Record<string, string>;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** @default 70 */
  readonly cpuUtilizationPercent?: number;
}

/** autoscaling/v2 HPA on average CPU utilisation (of requests) for an HTTP API. */
export class CpuAutoscaler extends Construct {
  constructor(scope: Construct, id: string, props: CpuAutoscalerProps) {
    super(scope, id);
    if (props.maxReplicas < props.minReplicas || props.minReplicas < 1) {
      throw new Error(`${props.deploymentName}: minReplicas=${props.minReplicas}, maxReplicas=${props.maxReplicas}: need 1 ≤ min ≤ max`);
    }
    new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
      metadata: { name: props.deploymentName, labels: props.labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.deploymentName },
        minReplicas: props.minReplicas,
        maxReplicas: props.maxReplicas,
        metrics: [{
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: props.cpuUtilizationPercent ?? 70 } },
        }],
      },
    });
  }
}

export { CONSUMER_SCALING_BEHAVIOR } from '../consumer-scaling';

export interface ConsumerLagAutoscalerProps {
  /** `keda` → ScaledObject; `hpa-external` → HPA on the exporter's lag metric. (`none` creates nothing.) */
  readonly mode: Exclude<ConsumerAutoscalingMode, 'none'>;
  readonly deploymentName: string;
  readonly labels: Record<string, string>;
  readonly bootstrapServers: string;
  /** @default kafka.orderConsumerGroup */
  readonly consumerGroup?: string;
  /** @default kafka.topics.orderEvents.name */
  readonly topic?: string;
  /** Partitions of `topic`; maxReplicas above it throws. @default kafka.topics.orderEvents.partitions */
  readonly partitions?: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly lagThreshold: string;
  readonly activationLagThreshold: string;
  readonly offsetResetPolicy: 'earliest' | 'latest';
  /** @default 15 */
  readonly pollingIntervalSeconds?: number;
  /** @default 300 */
  readonly cooldownPeriodSeconds?: number;
}

/** Scales a Kafka consumer Deployment on its group's lag, with exactly one owner of its replicas. */
export class ConsumerLagAutoscaler extends Construct {
  constructor(scope: Construct, id: string, props: ConsumerLagAutoscalerProps) {
    super(scope, id);
    const topic = props.topic ?? kafka.topics.orderEvents.name;
    const partitions = props.partitions ?? kafka.topics.orderEvents.partitions;
    const consumerGroup = props.consumerGroup ?? kafka.orderConsumerGroup;
    if (props.maxReplicas > partitions) {
      throw new Error(`${props.deploymentName}: maxReplicas=${props.maxReplicas}: must be ≤ ${partitions}, the partitions of ${topic}; extra consumers in group ${consumerGroup} would get no partition`);
    }
    if (props.maxReplicas < 1 || props.minReplicas > props.maxReplicas) {
      throw new Error(`${props.deploymentName}: minReplicas=${props.minReplicas}, maxReplicas=${props.maxReplicas}: need min ≤ max and max ≥ 1`);
    }

    if (props.mode === 'keda') {
      new ScaledObject(this, 'scaled-object', {
        metadata: { name: props.deploymentName, labels: props.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.deploymentName },
          minReplicaCount: props.minReplicas,
          maxReplicaCount: props.maxReplicas,
          pollingInterval: props.pollingIntervalSeconds ?? 15,
          cooldownPeriod: props.cooldownPeriodSeconds ?? 300,
          // restoreToOriginalReplicaCount stays unset (KEDA's default, false): KEDA's operator writes the object
          // back without a false value, so rendering it would leave a field the app applies and KEDA removes.
          advanced: {
            horizontalPodAutoscalerConfig: { behavior: CONSUMER_SCALING_BEHAVIOR },
          },
          triggers: [{
            type: 'kafka',
            metadata: {
              bootstrapServers: props.bootstrapServers,
              consumerGroup,
              topic,
              lagThreshold: props.lagThreshold,
              activationLagThreshold: props.activationLagThreshold,
              offsetResetPolicy: props.offsetResetPolicy,
              allowIdleConsumers: 'false',
            },
          }],
        },
      });
    } else {
      if (props.minReplicas < 1) {
        throw new Error(`${props.deploymentName}: minReplicas=${props.minReplicas}: hpa-external needs ≥ 1 (scale to zero needs KEDA)`);
      }
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
        metadata: { name: props.deploymentName, labels: props.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: props.deploymentName },
          minReplicas: props.minReplicas,
          maxReplicas: props.maxReplicas,
          behavior: CONSUMER_SCALING_BEHAVIOR,
          metrics: [{
            type: 'External',
            external: {
              metric: {
                name: kafka.lagMetricName,
                selector: { matchLabels: { consumergroup: consumerGroup, topic } },
              },
              // AverageValue: the adapter's total lag divided by current replicas, like KEDA's lagThreshold.
              target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString(props.lagThreshold) },
            },
          }],
        },
      });
    }
  }
}
