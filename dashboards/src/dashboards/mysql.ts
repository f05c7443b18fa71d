import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, namespaceVariable, newDashboard, quantile, rate, row, sel, timeSeries } from '../panels';

/** InnoDBCluster `eshop-mysql`: StatefulSet `eshop-mysql` (pods eshop-mysql-N), router Deployment `eshop-mysql-router`. */
const MYSQL_PODS = 'pod=~"eshop-mysql-.*"';

/**
 * MySQL as far as real series allow. The MySQL operator runs no exporter unless InnoDBCluster
 * `spec.metrics` adds the mysqld-exporter sidecar, which this platform does not enable; so no `mysql_*`
 * series: the database as the applications see it (connection pools) and the pods as Kubernetes does.
 */
export function mysql(): dashboard.Dashboard {
  return newDashboard(
    'eshop-mysql',
    'eshop / MySQL',
    'The MySQL operator ships no Prometheus exporter by default (InnoDBCluster spec.metrics, the mysqld-exporter sidecar, is off ' +
      'in this platform), so there are no mysqld/server series here. Shown instead: the database as the services see it ' +
      '(db_pool_* from each connection pool: in use, idle, waiting, acquire time) and the MySQL server and Router pods as ' +
      'Kubernetes reports them (kube-state-metrics readiness and restarts, cAdvisor CPU and memory; cluster only).',
  )
    .withVariable(datasourceVariable())
    .withVariable(namespaceVariable())
    .withRow(row('Connection pools (app-side)'))
    .withPanel(
      timeSeries('Pool connections by state', [{ expr: `sum by (service, state) (${sel('db_pool_connections')})`, legend: '{{service}} {{state}}' }], {
        stacked: true,
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries(
        'Pool utilisation',
        [{ expr: `sum by (service) (${sel('db_pool_connections', 'state="in_use"')}) / sum by (service) (${sel('db_pool_max_connections')})`, legend: '{{service}}' }],
        { unit: 'percentunit', min: 0, max: 1, size: { w: 8, h: 8 }, description: 'In-use connections over the configured pool size (all replicas).' },
      ),
    )
    .withPanel(
      timeSeries(
        'Connections the services hold on MySQL',
        [
          { expr: `sum(${sel('db_pool_connections')})`, legend: 'open (all pools)' },
          { expr: `sum(${sel('db_pool_max_connections')})`, legend: 'pool ceilings summed' },
        ],
        { size: { w: 8, h: 8 }, description: 'Compare with max_connections (400, chart value mysql.cluster.mycnf).' },
      ),
    )
    .withPanel(
      timeSeries('Callers waiting for a connection', [{ expr: `sum by (service) (${sel('db_pool_waiting_requests')})`, legend: '{{service}}' }], {
        size: { w: 12, h: 8 },
      }),
    )
    .withPanel(
      timeSeries(
        'Connection acquire time',
        [
          { expr: quantile(0.5, 'db_pool_acquire_duration_seconds', ['service']), legend: '{{service}} p50' },
          { expr: quantile(0.99, 'db_pool_acquire_duration_seconds', ['service']), legend: '{{service}} p99' },
        ],
        { unit: 's', size: { w: 12, h: 8 } },
      ),
    )
    .withRow(row('MySQL and Router pods (cluster)'))
    .withPanel(
      timeSeries(
        'Ready servers and routers',
        [
          { expr: `sum(${sel('kube_statefulset_status_replicas_ready', 'statefulset="eshop-mysql"')})`, legend: 'servers ready' },
          { expr: `sum(${sel('kube_statefulset_replicas', 'statefulset="eshop-mysql"')})`, legend: 'servers desired' },
          { expr: `sum(${sel('kube_deployment_status_replicas_available', 'deployment="eshop-mysql-router"')})`, legend: 'routers available' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries('CPU by pod', [{ expr: rate('container_cpu_usage_seconds_total', ['pod'], MYSQL_PODS, 'container!=""'), legend: '{{pod}}' }], {
        size: { w: 8, h: 8 },
        description: 'Cores used (cAdvisor).',
      }),
    )
    .withPanel(
      timeSeries('Memory working set by pod', [{ expr: `sum by (pod) (${sel('container_memory_working_set_bytes', MYSQL_PODS, 'container!=""')})`, legend: '{{pod}}' }], {
        unit: 'bytes',
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries('Container restarts in range', [{ expr: `sum by (pod) (increase(${sel('kube_pod_container_status_restarts_total', MYSQL_PODS)}[$__range]))`, legend: '{{pod}}' }], {
        size: { w: 24, h: 6 },
      }),
    )
    .build();
}
