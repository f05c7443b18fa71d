import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { NOT_PROBES, datasourceVariable, labelVariable, namespaceVariable, newDashboard, quantile, rate, row, sel, timeSeries } from '../panels';
import { ORDER_CONSUMERS } from './order-pipeline';

/**
 * k6 series arrive through its `experimental-prometheus-rw` output: `k6_` prefix, counters `_total`, rates
 * `_rate`, trends as one gauge per stat in K6_PROMETHEUS_RW_TREND_STATS (`p(95)` → `_p95`, seconds). They
 * carry the test-wide tag `testid`, not a namespace.
 */
function k6(metric: string, ...matchers: string[]): string {
  return `${metric}{${['testid=~"$testid"', ...matchers].join(', ')}}`;
}

/** One k6 run (by testid) next to what the platform did meanwhile: lag, consumer replicas, latency. */
export function loadTest(): dashboard.Dashboard {
  const c = ORDER_CONSUMERS;
  return newDashboard(
    'eshop-load-test',
    'eshop / Load test',
    'A k6 run (pick it by testid) lined up with the platform: k6 request rate, VUs, failures and p95/p99 (k6 run with ' +
      '-o experimental-prometheus-rw --tag testid=<id> and K6_PROMETHEUS_RW_TREND_STATS="p(95),p(99),avg"), next to the ' +
      'services\' own p95, consumer lag (app- and broker-side), order-consumer replicas and the HPA target, and async ' +
      'accept→confirm latency.',
  )
    .withVariable(datasourceVariable())
    .withVariable(namespaceVariable())
    .withVariable(labelVariable('testid', 'Test run', 'k6_vus', 'testid'))
    .withRow(row('k6'))
    .withPanel(
      timeSeries(
        'k6 request rate and VUs',
        [
          { expr: `sum by (testid) (rate(${k6('k6_http_reqs_total')}[$__rate_interval]))`, legend: '{{testid}} req/s' },
          { expr: `sum by (testid) (${k6('k6_vus')})`, legend: '{{testid}} VUs' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries(
        'k6 latency p95 / p99',
        [
          { expr: `max by (testid) (${k6('k6_http_req_duration_p95')})`, legend: '{{testid}} p95' },
          { expr: `max by (testid) (${k6('k6_http_req_duration_p99')})`, legend: '{{testid}} p99' },
        ],
        { unit: 's', size: { w: 8, h: 8 }, description: 'As the client saw it, queueing and network included.' },
      ),
    )
    .withPanel(
      timeSeries(
        'k6 requests by status, failed share',
        [
          { expr: `sum by (status) (rate(${k6('k6_http_reqs_total')}[$__rate_interval]))`, legend: 'HTTP {{status}}' },
          { expr: `max by (testid) (${k6('k6_http_req_failed_rate')})`, legend: '{{testid}} failed share' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withRow(row('The platform meanwhile'))
    .withPanel(
      timeSeries('Service latency p95', [{ expr: quantile(0.95, 'http_server_request_duration_seconds', ['service'], NOT_PROBES), legend: '{{service}}' }], {
        unit: 's',
        size: { w: 8, h: 8 },
      }),
    )
    .withPanel(
      timeSeries(
        'Consumer lag (order-events)',
        [
          // App-side series carry no group filter, as on the order pipeline dashboard: only the order consumers
          // export kafka_consumer_*, and test stacks run them under their own group names.
          { expr: `sum(${sel('kafka_consumer_lag_messages')})`, legend: 'app-side' },
          { expr: `sum(${sel('kafka_consumergroup_lag', `consumergroup="${c.group}"`, `topic="${c.topic}"`)})`, legend: 'broker-side (KEDA input)' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries(
        'Order consumers',
        [
          { expr: `sum(${sel('kube_deployment_status_replicas', `deployment="${c.deployment}"`)})`, legend: 'replicas' },
          { expr: `sum(${sel('kube_horizontalpodautoscaler_status_desired_replicas', `horizontalpodautoscaler=~"${c.hpaRegex}"`)})`, legend: 'HPA desired' },
          { expr: `count(${sel('kafka_consumer_assigned_partitions')})`, legend: 'processes (app-side)' },
        ],
        { size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries(
        'Async intake vs confirmations',
        [
          { expr: rate('orders_total', ['outcome'], 'mode="async"'), legend: 'async {{outcome}}' },
        ],
        { unit: 'reqps', size: { w: 12, h: 8 }, description: 'accepted above confirmed + rejected for long = lag builds up.' },
      ),
    )
    .withPanel(
      timeSeries('Accept → confirm p95', [{ expr: quantile(0.95, 'order_async_confirmation_seconds', []), legend: 'p95' }], {
        unit: 's',
        size: { w: 12, h: 8 },
      }),
    )
    .build();
}
