/**
 * The alert rules in charts/eshop-platform/files/rules: `promtool check rules` and `promtool test rules`
 * (fire and not-fire cases for every alert), the conventions every alert follows, and the chart packaging the
 * very same groups. The proof against a real Prometheus is prometheus.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { allRules, loadRuleFiles, promtool, ROOT, ruleFilePaths, ruleTestPaths, signalExpressions, metricNamesIn } from './support/rules';

const relative = (f: string) => path.relative(ROOT, f);

describe('alert rule files', () => {
  it.each(ruleFilePaths().map(relative))('%s passes promtool check rules', (file) => {
    expect(promtool(['check', 'rules', path.join(ROOT, file)])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.each(ruleTestPaths().map(relative))('%s passes promtool test rules', (file) => {
    expect(promtool(['test', 'rules', path.join(ROOT, file)])).toMatch(/SUCCESS/);
  });

  it('every promtool test over several rule groups fixes their evaluation order', () => {
    // Without group_eval_order promtool evaluates groups in Go map order, so an alert reads its recording rules
    // from this step or the previous one at random: a test that passed here failed 3 runs in 30.
    const problems: string[] = [];
    for (const file of ruleTestPaths()) {
      const suite = parse(readFileSync(file, 'utf8')) as { rule_files: string[]; group_eval_order?: string[] };
      const groups = suite.rule_files.flatMap((rf) => (parse(readFileSync(path.resolve(path.dirname(file), rf), 'utf8')) as { groups: Array<{ name: string }> }).groups.map((g) => g.name));
      if (groups.length > 1 && [...groups].sort().join() !== [...(suite.group_eval_order ?? [])].sort().join()) {
        problems.push(`${relative(file)}: group_eval_order must list ${groups.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every alert has a promtool case where it fires and one where it does not', () => {
    const fires = new Set<string>();
    const silent = new Set<string>();
    for (const file of ruleTestPaths()) {
      const suite = parse(readFileSync(file, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> };
      for (const test of suite.tests) {
        for (const c of test.alert_rule_test ?? []) (c.exp_alerts && c.exp_alerts.length > 0 ? fires : silent).add(c.alertname);
      }
    }
    const alerts = allRules().flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts.length).toBeGreaterThanOrEqual(13);
    expect(alerts.filter((a) => !fires.has(a)).map((a) => `${a}: no firing case`)).toEqual([]);
    expect(alerts.filter((a) => !silent.has(a)).map((a) => `${a}: no not-firing case`)).toEqual([]);
  });

  it('every alert has a severity, a summary and description with $labels or $value, and a runbook section in docs/alerts.md', () => {
    const runbook = readFileSync(path.join(ROOT, 'docs/alerts.md'), 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => (m[1] as string).trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const problems: string[] = [];
    for (const rule of allRules().filter((r) => r.alert)) {
      const { alert, labels = {}, annotations = {} } = rule;
      if (!['critical', 'warning'].includes(labels['severity'] ?? '')) problems.push(`${alert}: severity must be critical or warning`);
      for (const key of ['summary', 'description']) {
        if (!/\$labels\.|\$value/.test(annotations[key] ?? '')) problems.push(`${alert}: ${key} must name $labels or $value`);
      }
      const anchor = /^docs\/alerts\.md#([a-z0-9-]+)$/.exec(annotations['runbook_url'] ?? '')?.[1];
      if (!anchor) problems.push(`${alert}: runbook_url must be docs/alerts.md#<section>`);
      else if (!anchors.has(anchor)) problems.push(`${alert}: docs/alerts.md has no section #${anchor}`);
      if (!runbook.includes(`| ${alert} |`)) problems.push(`${alert}: missing from the table in docs/alerts.md`);
    }
    expect(problems).toEqual([]);
  });

  it('every rule name is unique and recording rules follow level:metric:operations', () => {
    const rules = allRules();
    const names = rules.map((r) => r.alert ?? r.record);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const r of rules.filter((x) => x.record)) expect(r.record).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  });

  it('finds the signal of an alert expression: thresholds, set operators, on(…) and absent() taken off', () => {
    expect(signalExpressions('a:b:c > (14.4 * 0.001)\nand a:b:d > (14.4 * 0.001)')).toEqual(['a:b:c', 'a:b:d']);
    expect(signalExpressions('up{job=~"a|b"} == 0 and on (namespace, job) sum by (namespace, job) (up{job!="x"}) > 0')).toEqual([
      'up{job=~"a|b"}',
      'sum by (namespace, job) (up{job!="x"})',
    ]);
    expect(signalExpressions('absent(up{job="gateway"}) or absent(up{job="product"})')).toEqual(['up{job="gateway"}', 'up{job="product"}']);
    expect(signalExpressions('sum by (s) (x > 0) unless y offset 10m')).toEqual(['sum by (s) (x > 0)', 'y offset 10m']);
    expect(metricNamesIn('sum by (job, le) (rate(foo_bucket{a="b>c"}[5m])) / on (job) group_left bar offset 5m > bool 3')).toEqual(['foo_bucket', 'bar']);
  });
});

describe('the chart packages the rule files unchanged', () => {
  it('renders PrometheusRule eshop-alerts with exactly the groups of files/rules/*.yaml, runbook links made absolute', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { platformScenarios, renderPlatform } = require('../k8s/support/render') as typeof import('../k8s/support/render');
    const eks = platformScenarios().find((s) => s.name === 'eks')!;
    const values = eks.valuesFiles.map((f) => parse(readFileSync(f, 'utf8')) as { alerts?: { runbookBaseUrl?: string } });
    const base = values.map((v) => v.alerts?.runbookBaseUrl).filter(Boolean).pop() ?? '';
    expect(base).toMatch(/^https:\/\//); // ci/eks-values.yaml exercises the link prefix

    const rendered = renderPlatform(eks).docs.filter((d) => d['kind'] === 'PrometheusRule');
    expect(rendered.map((d) => (d['metadata'] as { name: string }).name)).toEqual(['eshop-alerts']);
    const expected = loadRuleFiles()
      .flatMap((f) => f.groups)
      .map((g) => ({
        ...g,
        rules: g.rules.map((r) => (r.annotations?.['runbook_url'] ? { ...r, annotations: { ...r.annotations, runbook_url: `${base}/${r.annotations['runbook_url']}` } } : r)),
      }));
    const groups = (rendered[0]!['spec'] as { groups: unknown[] }).groups;
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect([...(groups as Array<{ name: string }>)].sort(byName)).toEqual([...expected].sort(byName));
  }, 60_000);
});
