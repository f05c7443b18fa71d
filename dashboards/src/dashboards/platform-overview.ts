import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  BREAKER_STATES, NOT_PROBES, datasourceVariable, labelVariable, namespaceVariable, newDashboard, quantile, rate, ratio, row,
  sel, statPanel, timeSeries,
} from '../panels';

const HTTP = 'http_server_request_duration_seconds';
const SVC = 'service=~"$service"';

/** RED per service and route, process saturation, DB pools and the gateway's upstreams. */
export function platformOverview(): dashboard.Dashboard {
  return newDashboard(
    'eshop-platform-overview',
    'eshop / Platform overview',
    'RED per service and route (http_server_request_duration_seconds), in-flight requests, process CPU/memory/event loop, ' +
      'database pools and the gateway upstreams (latency, errors, circuit breakers). Every series here is exported by the services themselves.',
  )
    .withVariable(datasourceVariable())
    .withVariable(namespaceVariable())
    .withVariable(labelVariable('service', 'Service', `${HTTP}_count`, 'service'))
    .withRow(row('Traffic (RED)'))
    .withPanel(
      timeSeries('Request rate by service', [{ expr: rate(`${HTTP}_count`, ['service'], SVC, NOT_PROBES), legend: '{{service}}' }], {
        unit: 'reqps',
        size: { w: 8, h: 8 },
        description: 'Requests per second, probes and /metrics excluded.',
      }),
    )
    .withPanel(
      timeSeries('5xx ratio by service', [{ expr: ratio(`${HTTP}_count`, ['service'], 'status_code=~"5.."', SVC, NOT_PROBES), legend: '{{service}}' }], {
        unit: 'percentunit',
        min: 0,
        size: { w: 8, h: 8 },
        description: 'Share of requests answered with a 5xx (499 = client went away, not counted).',
      }),
    )
    .withPanel(
      timeSeries(
        'Latency p50 / p95 by service',
        [
          { expr: quantile(0.5, HTTP, ['service'], SVC, NOT_PROBES), legend: '{{service}} p50' },
          { expr: quantile(0.95, HTTP, ['service'], SVC, NOT_PROBES), legend: '{{service}} p95' },
        ],
        { unit: 's', size: { w: 8, h: 8 } },
      ),
    )
    .withPanel(
      timeSeries('Requests by route and status', [{ expr: rate(`${HTTP}_count`, ['service', 'route', 'status_code'], SVC, NOT_PROBES), legend: '{{service}} {{route}} {{status_code}}' }], {
        unit: 'reqps',
        stacked: true,
        size: { w: 12, h: 9 },
        description: 'Route templates (never raw URLs), so ids do not multiply series.',
      }),
    )
    .withPanel(
      timeSeries('Latency p95 by route', [{ expr: quantile(0.95, HTTP, ['service', 'route'], SVC, NOT_PROBES), legend: '{{service}} {{route}}' }], {
        unit: 's',
        size: { w: 12, h: 9 },
      }),
    )
    .withPanel(
      timeSeries('Requests in flight', [{ expr: `sum by (service) (${sel('http_server_requests_in_flight', SVC)})`, legend: '{{service}}' }], {
        size: { w: 8, h: 7 },
        description: 'Requests being handled right now; a climbing line with flat throughput means queueing.',
      }),
    )
    .withRow(row('Saturation'))
    .withPanel(
      timeSeries('CPU (cores)', [{ expr: rate('process_cpu_seconds_total', ['service'], SVC), legend: '{{service}}' }], {
        size: { w: 6, h: 7 },
        description: 'CPU seconds per second of each service (all replicas summed). Node.js runs JavaScript on one core per process.',
      }),
    )
    .withPanel(
      timeSeries('Resident memory', [{ expr: `sum by (service) (${sel('process_resident_memory_bytes', SVC)})`, legend: '{{service}}' }], {
        unit: 'bytes',
        size: { w: 6, h: 7 },
      }),
    )
    .withPanel(
      timeSeries('Event loop lag p99', [{ expr: `max by (service) (${sel('nodejs_eventloop_lag_p99_seconds', SVC)})`, legend: '{{service}}' }], {
        unit: 's',
        size: { w: 6, h: 7 },
        description: 'Worst replica; above a few ms the process is CPU-bound.',
      }),
    )
    .withPanel(
      timeSeries('Heap used', [{ expr: `sum by (service) (${sel('nodejs_heap_size_used_bytes', SVC)})`, legend: '{{service}}' }], {
        unit: 'bytes',
        size: { w: 6, h: 7 },
      }),
    )
    .withRow(row('Database pools'))
    .withPanel(
      timeSeries(
        'Connections in use / pool size',
        [
          { expr: `sum by (service) (${sel('db_pool_connections', 'state="in_use"', SVC)})`, legend: '{{service}} in use' },
          { expr: `sum by (service) (${sel('db_pool_max_connections', SVC)})`, legend: '{{service}} max' },
        ],
        { size: { w: 8, h: 7 } },
      ),
    )
    .withPanel(
      timeSeries('Callers waiting for a connection', [{ expr: `sum by (service) (${sel('db_pool_waiting_requests', SVC)})`, legend: '{{service}}' }], {
        size: { w: 8, h: 7 },
        description: 'Anything above 0 for long means the pool (or MySQL) is the bottleneck.',
      }),
    )
    .withPanel(
      timeSeries('Connection acquire p95', [{ expr: quantile(0.95, 'db_pool_acquire_duration_seconds', ['service'], SVC), legend: '{{service}}' }], {
        unit: 's',
        size: { w: 8, h: 7 },
      }),
    )
    .withRow(row('Gateway upstreams'))
    .withPanel(
      statPanel('Circuit breakers', [{ expr: `max by (upstream) (${sel('gateway_circuit_breaker_state')})`, legend: '{{upstream}}' }], {
        mappings: BREAKER_STATES,
        size: { w: 6, h: 7 },
        description: 'gateway_circuit_breaker_state: 0 closed, 1 half-open, 2 open.',
      }),
    )
    .withPanel(
      timeSeries('Upstream latency p95', [{ expr: quantile(0.95, 'gateway_upstream_request_duration_seconds', ['upstream']), legend: '{{upstream}}' }], {
        unit: 's',
        size: { w: 6, h: 7 },
      }),
    )
    .withPanel(
      timeSeries('Upstream errors by kind', [{ expr: rate('gateway_upstream_errors_total', ['upstream', 'kind']), legend: '{{upstream}} {{kind}}' }], {
        unit: 'reqps',
        stacked: true,
        size: { w: 6, h: 7 },
        description: 'Calls with no complete response: timeout, connect, reset, protocol, breaker_open, other.',
      }),
    )
    .withPanel(
      timeSeries(
        'Upstream connections / queued',
        [
          { expr: `sum by (upstream) (${sel('gateway_upstream_connections')})`, legend: '{{upstream}} open' },
          { expr: `sum by (upstream) (${sel('gateway_upstream_queued_requests')})`, legend: '{{upstream}} queued' },
        ],
        { size: { w: 6, h: 7 } },
      ),
    )
    .withPanel(
      timeSeries(
        'order → product calls p95',
        [{ expr: quantile(0.95, 'product_client_request_duration_seconds', ['operation', 'outcome']), legend: '{{operation}} {{outcome}}' }],
        { unit: 's', size: { w: 12, h: 7 }, description: 'Reservations and releases the order service asks of the product service.' },
      ),
    )
    .withRow(row('Gateway: authentication and rate limits'))
    .withPanel(
      timeSeries('401s by reason', [{ expr: rate('gateway_auth_failures_total', ['reason']), legend: '{{reason}}' }], {
        unit: 'reqps',
        stacked: true,
        size: { w: 12, h: 7 },
        description:
          'gateway_auth_failures_total: missing (no token where one is needed), malformed, expired, invalid (signature, issuer, audience, algorithm); ' +
          'keys_unavailable is a 503 while the JWKS cannot be fetched. A jump in invalid or expired after a deploy points at the identity provider settings.',
      }),
    )
    .withPanel(
      timeSeries(
        '429s by limit',
        [
          { expr: rate('gateway_rate_limited_address_total', []), legend: 'per address' },
          { expr: rate('gateway_rate_limited_identity_total', []), legend: 'per user' },
        ],
        { unit: 'reqps', stacked: true, size: { w: 12, h: 7 }, description: 'Requests refused by RATE_LIMIT_PER_IP and RATE_LIMIT_PER_IDENTITY (per gateway replica).' },
      ),
    )
    .build();
}
