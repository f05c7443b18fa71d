/**
 * The "Used by" column of docs/metrics.md: which dashboards, alerts and recording rules read each metric. It is
 * computed from the dashboards' panel queries and the rule files, never typed by hand: this test fails when the
 * column differs, and `npm run docs:metrics` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { allPanelQueries, metricNames } from '../../dashboards/src';
import { CATALOGUE_PATH } from './support/metrics-catalogue';
import { allRules, metricNamesIn } from './support/rules';

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** metric name as written in a query → its family name in the catalogue (histogram series → family). */
function family(name: string, families: ReadonlySet<string>): string | undefined {
  if (families.has(name)) return name;
  const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
  const base = suffix ? name.slice(0, -suffix.length) : undefined;
  return base && families.has(base) ? base : undefined;
}

interface Usage { dashboards: Set<string>; alerts: Set<string>; recordings: Set<string> }

function usageOf(families: ReadonlySet<string>): Map<string, Usage> {
  const usage = new Map<string, Usage>();
  const entry = (f: string): Usage => {
    let u = usage.get(f);
    if (!u) usage.set(f, (u = { dashboards: new Set(), alerts: new Set(), recordings: new Set() }));
    return u;
  };
  for (const q of allPanelQueries()) {
    for (const name of metricNames(q.expr)) {
      const f = family(name, families);
      if (f) entry(f).dashboards.add(q.dashboard.replace(/^eshop-/, ''));
    }
  }
  for (const rule of allRules()) {
    for (const name of metricNamesIn(rule.expr)) {
      const f = family(name, families);
      if (!f) continue;
      if (rule.alert) entry(f).alerts.add(rule.alert);
      if (rule.record) entry(f).recordings.add(rule.record);
    }
  }
  return usage;
}

function cell(u: Usage | undefined): string {
  if (!u) return '—';
  const sorted = (s: Set<string>): string => [...s].sort().join(', ');
  const parts = [
    u.dashboards.size ? `dashboards: ${sorted(u.dashboards)}` : '',
    u.alerts.size ? `alerts: ${sorted(u.alerts)}` : '',
    u.recordings.size ? `recorded by: ${[...u.recordings].sort().map((r) => `\`${r}\``).join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : '—';
}

const splitRow = (line: string): string[] => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());

/** docs/metrics.md with every "Used by" cell recomputed; tables without that column are left alone. */
function withUsage(markdown: string): string {
  const lines = markdown.split('\n');
  const families = new Set<string>();
  for (const line of lines) {
    const name = /^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|/.exec(line)?.[1];
    if (name) families.add(name);
  }
  const usage = usageOf(families);
  let header: string[] | undefined;
  return lines
    .map((line) => {
      if (!line.startsWith('|')) {
        header = undefined;
        return line;
      }
      const row = splitRow(line);
      if (!header) {
        header = row;
        return line;
      }
      const col = header.indexOf('Used by');
      const name = /^`([^`]+)`$/.exec(row[0] ?? '')?.[1];
      if (col < 0 || header[0] !== 'Metric' || !name) return line;
      row[col] = cell(usage.get(name));
      return `| ${row.join(' | ')} |`;
    })
    .join('\n');
}

describe('docs/metrics.md "Used by" column', () => {
  it('names exactly the dashboards, alerts and recording rules that read each metric', () => {
    const current = readFileSync(CATALOGUE_PATH, 'utf8');
    const expected = withUsage(current);
    if (process.env['UPDATE_DOCS'] === '1' && expected !== current) writeFileSync(CATALOGUE_PATH, expected);
    else expect(current).toBe(expected); // run `npm run docs:metrics` to update it
  });

  it('shows the metrics an alert depends on (the dead-letter counter feeds KafkaMessagesDeadLettered)', () => {
    const row = readFileSync(CATALOGUE_PATH, 'utf8').split('\n').find((l) => l.startsWith('| `kafka_consumer_messages_dead_lettered_total` |'));
    expect(row).toContain('KafkaMessagesDeadLettered');
  });
});
