/**
 * What the dashboards need to know about PromQL text: which metrics an expression reads, whether those
 * series only exist in a cluster, and how to turn a Grafana expression into one a plain Prometheus runs.
 */

/**
 * Metric families that only a cluster produces: kube-state-metrics (`kube_`), the kubelet's cAdvisor
 * (`container_`), Strimzi's Kafka JMX exporter (`kafka_server_`, `kafka_controller_`, `kafka_network_`,
 * `kafka_log_`, `jvm_`), Strimzi's Kafka exporter (`kafka_consumergroup_`, `kafka_topic_`, `kafka_brokers`),
 * the MySQL operator's mysqld_exporter sidecar (`mysql_`) and k6's Prometheus remote-write output (`k6_`).
 * The services' own metrics never use these prefixes.
 */
export const CLUSTER_ONLY_PREFIXES: readonly string[] = [
  'kube_',
  'container_',
  'kafka_server_',
  'kafka_controller_',
  'kafka_network_',
  'kafka_log_',
  'jvm_',
  'kafka_consumergroup_',
  'kafka_topic_',
  'kafka_brokers',
  'mysql_',
  'k6_',
];

/** Concrete values for Grafana's built-in interval variables on a plain Prometheus. */
export const BUILTIN_SUBSTITUTIONS: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '5m',
};

/**
 * Replaces Grafana template variables with values a plain Prometheus accepts: built-in intervals
 * (`$__rate_interval`, `$__interval` → `1m`, `$__range` → `5m`) and every label variable (`$namespace`,
 * `${service}`, `$testid`, ...) → `.*`. Label variables are only ever used inside `=~"..."` matchers
 * (the dashboards test enforces it), where `.*` means "All".
 */
export function substituteVariables(expr: string): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    return BUILTIN_SUBSTITUTIONS[name] ?? '.*';
  });
}

/** Template variables an expression uses (without `$`), built-ins included. */
export function variablesIn(expr: string): string[] {
  return [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

/**
 * Metric names an expression selects. The dashboards write every selector with braces (each carries a
 * `namespace` or `testid` matcher), so a metric is an identifier directly followed by `{`.
 */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set([...withoutStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1] as string))];
}

/** True when a metric only exists in a cluster (see CLUSTER_ONLY_PREFIXES). */
export function isClusterOnlyMetric(metric: string): boolean {
  return CLUSTER_ONLY_PREFIXES.some((p) => metric.startsWith(p));
}

/** True when any series the expression reads only exists in a cluster. */
export function isClusterOnly(expr: string): boolean {
  return metricNames(expr).some(isClusterOnlyMetric);
}
