import { environmentConfig } from '../../../cdk8s/src/environments';
import { kafka } from '../../../cdk8s/src/platform-contract';
import { EKS_CONSUMER, PARTITIONS } from '../defaults';

describe('the model runs on the numbers cdk8s renders', () => {
  test('EKS order-consumer autoscaling and the order-events partitions match', () => {
    const a = environmentConfig('eks', {}).orderConsumer.autoscaling;
    const { behavior: _behavior, ...numbers } = EKS_CONSUMER;
    expect({
      lagThreshold: Number(a.lagThreshold),
      activationLagThreshold: Number(a.activationLagThreshold),
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      pollingIntervalSeconds: a.pollingIntervalSeconds,
      cooldownPeriodSeconds: a.cooldownPeriodSeconds,
    }).toEqual(numbers);
    expect(kafka.topics.orderEvents.partitions).toBe(PARTITIONS);
  });
});
