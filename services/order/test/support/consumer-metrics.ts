/** Reading in-process consumers' metrics (counters and gauges), summed over labels and consumers. */
import type { RunningOrderConsumer } from '../../src/consumer-service';

export async function metricTotal(consumers: readonly RunningOrderConsumer[], name: string): Promise<number> {
  let total = 0;
  for (const consumer of consumers) {
    const metric = consumer.metrics.registry.getSingleMetric(name);
    if (!metric) continue;
    for (const { value } of (await metric.get()).values) total += value;
  }
  return total;
}
