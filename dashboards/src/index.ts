import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { kafka } from './dashboards/kafka';
import { loadTest } from './dashboards/load-test';
import { mysql } from './dashboards/mysql';
import { orderPipeline } from './dashboards/order-pipeline';
import { platformOverview } from './dashboards/platform-overview';
import { isClusterOnly } from './promql';

export { substituteVariables, isClusterOnly, metricNames, variablesIn, CLUSTER_ONLY_PREFIXES, BUILTIN_SUBSTITUTIONS } from './promql';

/** Where the generated JSON lives: inside the chart, which provisions it (Helm reads only files in the chart). */
export const OUTPUT_DIR = path.resolve(__dirname, '../../charts/eshop-platform/files/dashboards');

/** Every dashboard, by output file name. */
export const DASHBOARDS: ReadonlyArray<{ readonly file: string; readonly build: () => dashboard.Dashboard }> = [
  { file: 'eshop-platform-overview.json', build: platformOverview },
  { file: 'eshop-order-pipeline.json', build: orderPipeline },
  { file: 'eshop-kafka.json', build: kafka },
  { file: 'eshop-mysql.json', build: mysql },
  { file: 'eshop-load-test.json', build: loadTest },
];

type AnyPanel = dashboard.Panel | dashboard.RowPanel;

/** A built dashboard with stable panel ids (1..n in layout order), as written to disk. */
export function buildDashboard(build: () => dashboard.Dashboard): dashboard.Dashboard {
  const built = build();
  (built.panels ?? []).forEach((panel: AnyPanel, i) => {
    panel.id = i + 1;
  });
  return built;
}

/** The exact file content for a dashboard (2-space JSON, trailing newline). */
export function serialize(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every dashboard as `{ file, content }`, in DASHBOARDS order. */
export function renderAll(): Array<{ file: string; dashboard: dashboard.Dashboard; content: string }> {
  return DASHBOARDS.map(({ file, build }) => {
    const d = buildDashboard(build);
    return { file, dashboard: d, content: serialize(d) };
  });
}

/** Writes every dashboard into OUTPUT_DIR and removes JSON files no dashboard produces any more. */
export function writeAll(dir: string = OUTPUT_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const rendered = renderAll();
  const wanted = new Set(rendered.map((r) => r.file));
  for (const f of readdirSync(dir)) if (f.endsWith('.json') && !wanted.has(f)) rmSync(path.join(dir, f));
  for (const r of rendered) {
    const target = path.join(dir, r.file);
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== r.content) writeFileSync(target, r.content);
  }
  return rendered.map((r) => path.join(dir, r.file));
}

/** One PromQL target of one panel. */
export interface PanelQuery {
  /** Dashboard uid. */
  readonly dashboard: string;
  /** Panel title (unique within its dashboard). */
  readonly panel: string;
  /** Target refId within the panel (A, B, ...). */
  readonly refId: string;
  /** The expression as Grafana runs it, template variables included (see substituteVariables). */
  readonly expr: string;
  /**
   * True when a series it reads only exists in a cluster (kube-state-metrics, cAdvisor, Strimzi JMX /
   * Kafka exporter, k6 remote write): check its syntax, do not expect data from the local services.
   */
  readonly clusterOnly: boolean;
}

/** Every panel query of every dashboard, for the test that runs them against a real Prometheus. */
export function allPanelQueries(): PanelQuery[] {
  return renderAll().flatMap(({ dashboard: d }) =>
    (d.panels ?? []).flatMap((panel: AnyPanel) => {
      if (panel.type === 'row') return [];
      const p = panel as dashboard.Panel;
      return (p.targets ?? []).map((t) => {
        const target = t as { refId?: string; expr?: string };
        const expr = target.expr ?? '';
        return { dashboard: d.uid ?? '', panel: p.title ?? '', refId: target.refId ?? '', expr, clusterOnly: isClusterOnly(expr) };
      });
    }),
  );
}
