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

/** The same sum read from a process's /metrics over HTTP (a child process); 0 when the series is absent. */
export async function scrapedTotal(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
