import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BUILTIN_SUBSTITUTIONS, OUTPUT_DIR, allPanelQueries, isClusterOnly, metricNames, renderAll, substituteVariables, variablesIn,
} from '../src';
import { loadYamlDocs } from '../../test/k8s/support/render';

const ROOT = path.resolve(__dirname, '../..');
const rendered = renderAll();

type Json = Record<string, unknown>;
const panelsOf = (d: Json): Json[] => ((d['panels'] as Json[] | undefined) ?? []).filter((p) => p['type'] !== 'row');
const targetsOf = (p: Json): Json[] => (p['targets'] as Json[] | undefined) ?? [];

/** Metric names the services register (`name: '...'` in services/<svc>/src), histograms with their series. */
function serviceMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) {
        const src = readFileSync(p, 'utf8');
        for (const m of src.matchAll(/name: '([a-z_:][a-z0-9_:]*)'/g)) {
          const n = m[1] as string;
          for (const suffix of ['', '_bucket', '_sum', '_count']) names.add(n + suffix);
        }
      }
    }
  };
  for (const svc of readdirSync(path.join(ROOT, 'services'))) {
    const src = path.join(ROOT, 'services', svc, 'src');
    if (existsSync(src)) walk(src);
  }
  // prom-client's default process metrics (collectDefaultMetrics), read from its source.
  const promClient = path.dirname(require.resolve('prom-client/package.json', { paths: [path.join(ROOT, 'services/common')] }));
  for (const f of readdirSync(path.join(promClient, 'lib/metrics')).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(path.join(promClient, 'lib/metrics', f), 'utf8').matchAll(/'((?:process|nodejs)_[a-z0-9_]+)'/g)) names.add(m[1] as string);
  }
  return names;
}

/** Metric names the Strimzi JMX exporter rules in the chart's ConfigMap produce (lowercased, alternations expanded). */
function jmxMetrics(): Set<string> {
  const config = readFileSync(path.join(ROOT, 'charts/eshop-platform/templates/kafka-metrics-configmap.yaml'), 'utf8');
  const names = new Set<string>();
  const rules = [...config.matchAll(/- pattern: (.+)\n\s+name: (\S+)/g)];
  for (const [, pattern, name] of rules as unknown as Array<[string, string, string]>) {
    const group = /\(([^()]+)\)/.exec(pattern)?.[1];
    const values = name.includes('$1') && group ? group.split('|') : [''];
    for (const v of values) names.add(name.replace('$1', v).toLowerCase().replace(/[^a-z0-9_:]/g, '_'));
  }
  return names;
}

/**
 * Series of cluster components, as their projects document them: Strimzi's Kafka exporter (danielqsj/kafka_exporter),
 * kube-state-metrics, the kubelet's cAdvisor, k6's experimental-prometheus-rw output with
 * K6_PROMETHEUS_RW_TREND_STATS including p(95),p(99), and prometheus/mysqld_exporter v0.14.0 (the MySQL operator's
 * sidecar, chart value mysql.cluster.metrics) with the collectors the chart leaves on: `mysql_up` (collector/exporter.go),
 * global_status (`mysql_global_status_<lower-cased status variable>`, Com_* as `mysql_global_status_commands_total{command}`;
 * collector/global_status.go), global_variables (`mysql_global_variables_<variable>`) and
 * perf_schema.replication_group_members (`mysql_perf_schema_replication_group_member_info`, one label per column;
 * collector/perf_schema_replication_group_members.go, enabled by the chart's --collect flag).
 */
const EXTERNAL_METRICS = new Set([
  'kafka_brokers', 'kafka_topic_partition_current_offset', 'kafka_consumergroup_lag', 'kafka_consumergroup_members',
  'kube_deployment_status_replicas', 'kube_deployment_status_replicas_available', 'kube_horizontalpodautoscaler_status_desired_replicas',
  'kube_horizontalpodautoscaler_spec_max_replicas', 'kube_statefulset_status_replicas_ready', 'kube_statefulset_replicas',
  'kube_pod_container_status_restarts_total',
  'container_cpu_usage_seconds_total', 'container_memory_working_set_bytes',
  'k6_http_reqs_total', 'k6_vus', 'k6_http_req_failed_rate', 'k6_http_req_duration_p95', 'k6_http_req_duration_p99',
  'mysql_up', 'mysql_global_status_threads_connected', 'mysql_global_status_threads_running', 'mysql_global_variables_max_connections',
  'mysql_global_status_queries', 'mysql_global_status_commands_total', 'mysql_global_status_slow_queries',
  'mysql_global_status_innodb_row_lock_waits', 'mysql_global_status_innodb_row_lock_time',
  'mysql_global_status_innodb_buffer_pool_reads', 'mysql_global_status_innodb_buffer_pool_read_requests',
  'mysql_perf_schema_replication_group_member_info',
]);

describe('generated dashboards', () => {
  it('the committed JSON in charts/eshop-platform/files/dashboards is what `npm run dashboards` writes (no drift)', () => {
    const committed = readdirSync(OUTPUT_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual(rendered.map((r) => r.file).sort());
    for (const r of rendered) {
      expect({ file: r.file, content: readFileSync(path.join(OUTPUT_DIR, r.file), 'utf8') }).toEqual({ file: r.file, content: r.content });
    }
  });

  it('every dashboard has its own uid and title', () => {
    const uids = rendered.map((r) => r.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.every((u) => typeof u === 'string' && /^[a-z0-9-]{1,40}$/.test(u))).toBe(true);
    expect(new Set(rendered.map((r) => r.dashboard.title)).size).toBe(rendered.length);
  });

  it('each file stays far below the 1 MiB ConfigMap limit', () => {
    for (const r of rendered) expect(Buffer.byteLength(r.content)).toBeLessThan(256 * 1024);
  });

  describe.each(rendered.map((r) => [r.file, r.dashboard as unknown as Json] as const))('%s', (_file, d) => {
    const variables = ((d['templating'] as Json)['list'] as Json[]) ?? [];

    it('has a `datasource` template variable of type prometheus', () => {
      expect(variables.find((v) => v['name'] === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    });

    it('every panel and every target uses ${datasource}; no datasource uid is hard-coded anywhere', () => {
      const refs: unknown[] = [];
      const collect = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(collect);
        else if (node && typeof node === 'object') {
          for (const [k, v] of Object.entries(node)) {
            if (k === 'datasource') refs.push(v);
            collect(v);
          }
        }
      };
      collect(d);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const p of panelsOf(d)) {
        expect(p['datasource']).toEqual({ type: 'prometheus', uid: '${datasource}' });
        for (const t of targetsOf(p)) expect(t['datasource']).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    });

    it('every panel has a unique title, a unique id and at least one target with a non-empty expr', () => {
      const panels = panelsOf(d);
      expect(panels.length).toBeGreaterThan(0);
      expect(new Set(panels.map((p) => p['title'])).size).toBe(panels.length);
      const all = (d['panels'] as Json[]).map((p) => p['id']);
      expect(new Set(all).size).toBe(all.length);
      for (const p of panels) {
        const exprs = targetsOf(p).map((t) => t['expr']);
        expect({ panel: p['title'], hasExpr: exprs.some((e) => typeof e === 'string' && e.trim() !== '') }).toEqual({ panel: p['title'], hasExpr: true });
        const refIds = targetsOf(p).map((t) => t['refId']);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    });

    it('uses only variables it defines (or Grafana built-ins), label variables only inside =~ matchers', () => {
      const defined = new Set(variables.map((v) => v['name'] as string));
      for (const p of panelsOf(d)) {
        for (const t of targetsOf(p)) {
          const expr = t['expr'] as string;
          for (const v of variablesIn(expr)) expect({ expr, v, known: defined.has(v) || v in BUILTIN_SUBSTITUTIONS }).toEqual({ expr, v, known: true });
          const labelVarUses = [...expr.matchAll(/(.{3})"\$\{?(\w+)/g)].filter((m) => !((m[2] as string) in BUILTIN_SUBSTITUTIONS));
          for (const m of labelVarUses) expect({ expr, before: m[1] }).toEqual({ expr, before: expect.stringMatching(/=~$/) });
        }
      }
    });
  });
});

describe('chart provisioning', () => {
  it('the platform chart (kind scenario) renders one ConfigMap per dashboard, labelled for the Grafana sidecar, with the file as is', () => {
    const out = execFileSync(path.join(ROOT, 'charts/render-ci.sh'), [path.join(ROOT, 'charts/eshop-platform'), 'kind'], { encoding: 'utf8' });
    const configMaps = loadYamlDocs(out).filter((d) => d['kind'] === 'ConfigMap' && (d['metadata'] as Json)['labels'] && ((d['metadata'] as Json)['labels'] as Json)['grafana_dashboard'] === '1');
    expect(configMaps.map((c) => (c['metadata'] as Json)['name']).sort()).toEqual(rendered.map((r) => r.file.replace(/\.json$/, '-dashboard')).sort());
    for (const r of rendered) {
      const cm = configMaps.find((c) => (c['metadata'] as Json)['name'] === r.file.replace(/\.json$/, '-dashboard'));
      expect((cm?.['data'] as Json)[r.file]).toBe(r.content);
    }
  });
});

describe('panel queries', () => {
  const queries = allPanelQueries();
  const service = serviceMetrics();
  const cluster = new Set([...jmxMetrics(), ...EXTERNAL_METRICS]);

  it('lists every target of every panel', () => {
    const targets = rendered.flatMap((r) => panelsOf(r.dashboard as unknown as Json).flatMap(targetsOf));
    expect(queries).toHaveLength(targets.length);
    expect(queries.every((q) => q.expr.trim() !== '' && q.dashboard !== '' && q.panel !== '')).toBe(true);
  });

  it('reads only metrics the services export, or (clusterOnly) that the cluster components export', () => {
    const unknown: string[] = [];
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect({ expr: q.expr, selectsSomething: names.length > 0 }).toEqual({ expr: q.expr, selectsSomething: true });
      for (const n of names) if (!service.has(n) && !cluster.has(n)) unknown.push(`${q.dashboard} / ${q.panel}: ${n}`);
      if (!q.clusterOnly) for (const n of names) expect({ expr: q.expr, n, exportedByServices: service.has(n) }).toEqual({ expr: q.expr, n, exportedByServices: true });
    }
    expect(unknown).toEqual([]);
  });

  it('writes every selector with braces, so metricNames() sees every metric an expression reads', () => {
    const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'increase', 'histogram_quantile', 'by', 'or', 'and', 'unless', 'on', 'without']);
    for (const q of queries) {
      const rest = q.expr
        .replace(/"(?:[^"\\]|\\.)*"/g, '""')
        .replace(/[a-zA-Z_:][a-zA-Z0-9_:]*\s*\{[^}]*\}/g, ' ')
        .replace(/\bby \([^)]*\)/g, ' ')
        .replace(/\[[^\]]*\]/g, ' ');
      const bare = [...rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !FUNCTIONS.has(w));
      expect({ expr: q.expr, bare }).toEqual({ expr: q.expr, bare: [] });
    }
  });

  it('substituteVariables leaves no $ behind and maps intervals and label variables to plain values', () => {
    expect(substituteVariables('rate(x{namespace=~"$namespace", testid=~"${testid}"}[$__rate_interval]) + increase(y[$__range])')).toBe(
      'rate(x{namespace=~".*", testid=~".*"}[1m]) + increase(y[5m])',
    );
    for (const q of queries) expect(substituteVariables(q.expr)).not.toContain('$');
  });

  it('marks as clusterOnly exactly the queries that read a cluster-only series', () => {
    expect(isClusterOnly('sum(kube_deployment_status_replicas{namespace=~"$namespace"})')).toBe(true);
    expect(isClusterOnly('sum(orders_total{namespace=~"$namespace"})')).toBe(false);
    const local = queries.filter((q) => !q.clusterOnly);
    expect(local.length).toBeGreaterThan(40);
    expect(queries.filter((q) => q.clusterOnly).map((q) => q.dashboard)).toEqual(expect.arrayContaining(['eshop-kafka', 'eshop-load-test', 'eshop-mysql', 'eshop-order-pipeline']));
  });

  const promtool = process.env['PROMTOOL'] ?? ['/usr/bin/promtool', path.join(ROOT, '.local/tools/bin/promtool')].find((p) => existsSync(p));
  (promtool ? it : it.skip)('every query (variables substituted) parses: promtool check rules over them as recording rules', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dashboards-promql-'));
    const file = path.join(dir, 'queries.yaml');
    const rules = queries.map((q, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(substituteVariables(q.expr))}`);
    writeFileSync(file, `groups:\n  - name: dashboard-queries\n    rules:\n${rules.join('\n')}\n`);
    const out = execFileSync(promtool as string, ['check', 'rules', file], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
