import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * Every panel and every query points at the `datasource` template variable, never at a datasource uid:
 * the same JSON works in any Grafana whatever its Prometheus datasource is called.
 */
export const DATASOURCE: { type: string; uid: string } = { type: 'prometheus', uid: '${datasource}' };

/** One PromQL target of a panel. */
export interface Query {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{service}}`. */
  readonly legend?: string;
}

/** Width (of 24 columns) and height (grid rows) of a panel. */
export interface Size {
  readonly w: number;
  readonly h: number;
}

export interface PanelOptions {
  readonly description?: string;
  /** Grafana unit id: `s`, `reqps`, `percentunit`, `bytes`, `short`, ... */
  readonly unit?: string;
  readonly size?: Size;
  readonly min?: number;
  readonly max?: number;
  /** Stack the series (areas that add up, e.g. requests by status). */
  readonly stacked?: boolean;
  readonly mappings?: dashboard.ValueMapping[];
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function target(query: Query, index: number): prometheus.DataqueryBuilder {
  const builder = new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(REF_IDS.charAt(index))
    .expr(query.expr)
    .range();
  return query.legend === undefined ? builder : builder.legendFormat(query.legend);
}

/** A time series panel: one line per series, legend as a table with mean and max. */
export function timeSeries(title: string, queries: readonly Query[], options: PanelOptions = {}): timeseries.PanelBuilder {
  const size = options.size ?? { w: 12, h: 8 };
  let panel = new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(size.w)
    .height(size.h)
    .unit(options.unit ?? 'short')
    .lineWidth(1)
    .fillOpacity(options.stacked ? 25 : 8)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['mean', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (options.description) panel = panel.description(options.description);
  if (options.min !== undefined) panel = panel.min(options.min);
  if (options.max !== undefined) panel = panel.max(options.max);
  if (options.stacked) panel = panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (options.mappings) panel = panel.mappings(options.mappings);
  queries.forEach((q, i) => {
    panel = panel.withTarget(target(q, i));
  });
  return panel;
}

/** A single-value panel (last value of each series), for states and current levels. */
export function statPanel(title: string, queries: readonly Query[], options: PanelOptions = {}): stat.PanelBuilder {
  const size = options.size ?? { w: 6, h: 4 };
  let panel = new stat.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(size.w)
    .height(size.h)
    .unit(options.unit ?? 'short')
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (options.description) panel = panel.description(options.description);
  if (options.mappings) panel = panel.mappings(options.mappings);
  queries.forEach((q, i) => {
    panel = panel.withTarget(target(q, i));
  });
  return panel;
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

/** The `datasource` variable (type prometheus) every panel uses. */
export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/**
 * A label variable filled from Prometheus (`label_values(metric, label)`), multi-select with "All" = `.*`,
 * so queries match it with `=~"$name"` and also match series that lack the label (local, no Kubernetes).
 */
export function labelVariable(name: string, label: string, source: string, labelName: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query: `label_values(${source}, ${labelName})`, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(`label_values(${source}, ${labelName})`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** `namespace` variable: the Kubernetes namespace the eshop services run in (All when run locally). */
export function namespaceVariable(): dashboard.QueryVariableBuilder {
  return labelVariable('namespace', 'Namespace', 'http_server_requests_in_flight', 'namespace');
}

/** A new dashboard with the house defaults: tags, 1 h window, 30 s refresh, shared crosshair. */
export function newDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['eshop'])
    .editable()
    .timezone('browser')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
}

/** Value mapping for gateway_circuit_breaker_state (0 closed, 1 half-open, 2 open). */
export const BREAKER_STATES: dashboard.ValueMapping[] = [
  {
    type: dashboard.MappingType.ValueToText,
    options: {
      '0': { text: 'closed', color: 'green', index: 0 },
      '1': { text: 'half-open', color: 'orange', index: 1 },
      '2': { text: 'open', color: 'red', index: 2 },
    },
  },
];

/** `metric{namespace=~"$namespace", <matchers>}`: every selector is scoped to the namespace variable. */
export function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${['namespace=~"$namespace"', ...matchers].join(', ')}}`;
}

/** HTTP routes that are probes or scrapes, not traffic. */
export const NOT_PROBES = 'route!~"/metrics|/healthz|/readyz"';

/** `histogram_quantile(q, sum by (<by>, le) (rate(<metric>_bucket{...}[$__rate_interval])))`. */
export function quantile(q: number, histogram: string, by: readonly string[], ...matchers: string[]): string {
  const labels = [...by, 'le'].join(', ');
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${sel(`${histogram}_bucket`, ...matchers)}[$__rate_interval])))`;
}

/** `sum by (<by>) (rate(<selector>[$__rate_interval]))`; `by` empty = one total series. */
export function rate(metric: string, by: readonly string[], ...matchers: string[]): string {
  const agg = by.length ? `sum by (${by.join(', ')})` : 'sum';
  return `${agg} (rate(${sel(metric, ...matchers)}[$__rate_interval]))`;
}

/**
 * Share of `metric` (a counter) matching `part`, by `by`. The `or … * 0` keeps a 0 series when nothing
 * matches `part` yet (no 5xx so far), instead of an empty result.
 */
export function ratio(metric: string, by: readonly string[], part: string, ...matchers: string[]): string {
  const all = rate(metric, by, ...matchers);
  return `(${rate(metric, by, part, ...matchers)} or ${all} * 0) / ${all}`;
}
