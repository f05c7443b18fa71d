import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, namespaceVariable, newDashboard, quantile, rate, row, sel, statPanel, timeSeries } from '../panels';

/** InnoDBCluster `eshop-mysql`: StatefulSet `eshop-mysql` (pods eshop-mysql-N), router Deployment `eshop-mysql-router`. */
const MYSQL_PODS = 'pod=~"eshop-mysql-.*"';

/** mysql_up: 0 down, 1 up. */
const UP_STATES: dashboard.ValueMapping[] = [
  {
    type: dashboard.MappingType.ValueToText,
    options: {
      '0': { text: 'down', color: 'red', index: 0 },
      '1': { text: 'up', color: 'green', index: 1 },
    },
  },
];

/**
 * Group Replication as every member sees it: each exporter reports all members of the group
 * (`performance_schema.replication_group_members`), so count per reporting pod and take the largest view.
 */
const GR_MEMBERS = 'mysql_perf_schema_replication_group_member_info';

/**
 * MySQL from three sides: the connection pools the services hold (db_pool_*), the servers through the
 * mysqld_exporter sidecar the MySQL operator adds with InnoDBCluster `spec.metrics` (chart value
 * `mysql.cluster.metrics.enabled`, on in values-eks.yaml; Prometheus scrapes it through the operator's
 * ServiceMonitor), and the MySQL and Router pods as Kubernetes reports them.
 */
export function mysql(): dashboard.Dashboard {
  return newDashboard(
    'eshop-mysql',
    'eshop / MySQL',
    'The database as the services see it (db_pool_* from each connection pool: in use, idle, waiting, acquire time); the ' +
      'MySQL servers through mysqld_exporter (mysql_*: exporter up, Group Replication members and roles, connections vs ' +
      'max_connections, queries and statements per second, slow queries, InnoDB row lock waits, buffer pool hit ratio) — the ' +
      'sidecar the MySQL operator adds with InnoDBCluster spec.metrics, chart value mysql.cluster.metrics.enabled (on in ' +
      'values-eks.yaml, scraped through the operator\'s ServiceMonitor); and the MySQL server and Router pods as Kubernetes ' +
      'reports them (kube-state-metrics readiness and restarts, cAdvisor CPU and memory). mysql_*, kube_* and container_* ' +
      'series exist only in a cluster.',
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
        {
          size: { w: 8, h: 8 },
          description: 'Compare with max_connections (400, chart value mysql.cluster.mycnf) and the server-side count in "Connections vs max_connections".',
        },
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
    .withRow(row('MySQL servers (mysqld_exporter, cluster)'))
    .withPanel(
      statPanel('Exporter up', [{ expr: `max by (pod) (${sel('mysql_up')})`, legend: '{{pod}}' }], {
        mappings: UP_STATES,
        size: { w: 6, h: 5 },
        description: 'mysql_up per server pod: 1 when the sidecar reaches mysqld over its socket. No value at all: the sidecar is off (mysql.cluster.metrics.enabled) or not scraped (mysql.cluster.metrics.monitor).',
      }),
    )
    .withPanel(
      statPanel(
        'Group Replication members',
        [
          { expr: `max(count by (pod) (${sel(GR_MEMBERS, 'member_state="ONLINE"')}))`, legend: 'ONLINE' },
          { expr: `max(count by (pod) (${sel(GR_MEMBERS)}))`, legend: 'in the group' },
        ],
        { size: { w: 6, h: 5 }, description: 'Members in state ONLINE and all members, as the member with the widest view reports them (performance_schema.replication_group_members).' },
      ),
    )
    .withPanel(
      timeSeries(
        'Group Replication member state and role',
        [{ expr: `max by (member_host, member_role, member_state) (${sel(GR_MEMBERS)})`, legend: '{{member_host}} {{member_role}} {{member_state}}' }],
        {
          size: { w: 12, h: 5 },
          description: 'One line per member, role (PRIMARY/SECONDARY) and state (ONLINE, RECOVERING, UNREACHABLE, ERROR, OFFLINE); a failover shows as the PRIMARY line moving to another host.',
        },
      ),
    )
    .withPanel(
      timeSeries(
        'Connections vs max_connections',
        [
          { expr: `sum by (pod) (${sel('mysql_global_status_threads_connected')})`, legend: '{{pod}} connected' },
          { expr: `sum by (pod) (${sel('mysql_global_status_threads_running')})`, legend: '{{pod}} running' },
          { expr: `max(${sel('mysql_global_variables_max_connections')})`, legend: 'max_connections' },
        ],
        { size: { w: 8, h: 8 }, description: 'Threads_connected and Threads_running per server against max_connections.' },
      ),
    )
    .withPanel(
      timeSeries('Queries per second', [{ expr: rate('mysql_global_status_queries', ['pod']), legend: '{{pod}}' }], {
        unit: 'reqps',
        size: { w: 8, h: 8 },
        description: 'Statements executed by the server (Queries status variable), including those inside stored programs.',
      }),
    )
    .withPanel(
      timeSeries(
        'Statements by command',
        [{ expr: rate('mysql_global_status_commands_total', ['command'], 'command=~"select|insert|update|delete|commit|rollback"'), legend: '{{command}}' }],
        { unit: 'reqps', stacked: true, size: { w: 8, h: 8 }, description: 'Com_* counters of the whole group (reads land on the primary through the read-write router port).' },
      ),
    )
    .withPanel(
      timeSeries('Slow queries', [{ expr: rate('mysql_global_status_slow_queries', ['pod']), legend: '{{pod}}' }], {
        unit: 'reqps',
        size: { w: 6, h: 8 },
        description: 'Statements that took longer than long_query_time (MySQL default 10 s; set it in mysql.cluster.mycnf).',
      }),
    )
    .withPanel(
      timeSeries(
        'InnoDB row lock waits',
        [{ expr: rate('mysql_global_status_innodb_row_lock_waits', ['pod']), legend: '{{pod}}' }],
        { unit: 'ops', size: { w: 6, h: 8 }, description: 'Row lock waits per second: stock reservations of racing orders queue here.' },
      ),
    )
    .withPanel(
      timeSeries(
        'InnoDB row lock wait time (average)',
        [
          {
            expr: `sum by (pod) (rate(${sel('mysql_global_status_innodb_row_lock_time')}[$__rate_interval])) / sum by (pod) (rate(${sel('mysql_global_status_innodb_row_lock_waits')}[$__rate_interval])) / 1000`,
            legend: '{{pod}}',
          },
        ],
        { unit: 's', size: { w: 6, h: 8 }, description: 'Innodb_row_lock_time (milliseconds) over Innodb_row_lock_waits: the average wait per row lock.' },
      ),
    )
    .withPanel(
      timeSeries(
        'InnoDB buffer pool hit ratio',
        [
          {
            expr: `1 - sum by (pod) (rate(${sel('mysql_global_status_innodb_buffer_pool_reads')}[$__rate_interval])) / sum by (pod) (rate(${sel('mysql_global_status_innodb_buffer_pool_read_requests')}[$__rate_interval]))`,
            legend: '{{pod}}',
          },
        ],
        { unit: 'percentunit', max: 1, size: { w: 6, h: 8 }, description: 'Logical reads served from the buffer pool (1 − Innodb_buffer_pool_reads / Innodb_buffer_pool_read_requests).' },
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
