/**
 * Renders the figures section of docs/reliability.md from the JSON files the fault suites write
 * (services/order/test/support/reliability-report.ts). Only the part between the GENERATED markers is
 * replaced; the prose around it is written by hand. Used by test/faults/reliability.js (npm run reliability).
 */
import type { ClientFigures, InvariantFigures, ScenarioReport } from '../../services/order/test/support/reliability-report';

export const BEGIN = '<!-- BEGIN GENERATED: reliability-figures -->';
export const END = '<!-- END GENERATED: reliability-figures -->';

/** The scenarios issue 6 requires, in the order the document reports them. */
export const SCENARIOS = ['a-consumer-kill', 'b-product-kill', 'c-api-kill', 'd-broker-outage', 'e-database-restart', 'f-slow-product'] as const;

const letter = (report: ScenarioReport) => report.id.charAt(0);
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
/** `202 × 549, 503 × 3` (statuses in ascending order, "no answer" last). */
const answers = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => (Number(a) || 1000) - (Number(b) || 1000))
    .map(([status, n]) => `${status} × ${n}`)
    .join(', ') || '—';
/** Mermaid gantt task names end at `:` and comments start at `#`/`;`. */
const taskName = (text: string) => text.replace(/[:#;]/g, ' ').replace(/\s+/g, ' ').trim();

function duplicates(inv: InvariantFigures): number {
  return inv.unaccountedOrders + inv.reservationsWithoutConfirmedOrder + (inv.events?.ordersDecidedTwice ?? 0);
}

function stockHolds(inv: InvariantFigures): boolean {
  return inv.stock.every((s) => s.final === s.initial - s.confirmedUnits);
}

function clientSummary(clients: Record<string, ClientFigures>): string {
  const all: Record<string, number> = {};
  for (const figures of Object.values(clients)) for (const [status, n] of Object.entries(figures.answers)) all[status] = (all[status] ?? 0) + n;
  return answers(all);
}

function summaryTable(reports: readonly ScenarioReport[]): string {
  const rows = reports.map((r) => {
    const inv = r.invariants!;
    const retried = Object.values(r.clients).reduce((n, c) => n + c.retried, 0);
    return [
      `[${letter(r)}](#${letter(r)}-${anchor(r.title)})`,
      r.title,
      clientSummary(r.clients) + (retried > 0 ? `; ${retried} retried` : ''),
      `${inv.accepted.async} / ${inv.accepted.sync}`,
      `${inv.confirmed} / ${inv.rejected}`,
      String(inv.lost),
      String(inv.notTerminal),
      String(duplicates(inv)),
      stockHolds(inv) ? 'holds' : '**broken**',
      `${r.seconds} s`,
    ];
  });
  return table(
    ['', 'Fault', 'What clients got (first answers)', 'Accepted async / sync', 'Confirmed / rejected', 'Lost', 'Not terminal', 'Duplicates', 'Stock = initial − confirmed', 'Scenario time'],
    rows,
  );
}

function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function gantt(report: ScenarioReport): string {
  const ms = (seconds: number) => String(Math.round(seconds * 1000));
  const lines = ['```mermaid', 'gantt', '  dateFormat x', '  axisFormat %M:%S', `  section ${taskName(letter(report))}`];
  for (const span of report.spans) {
    const crit = /away|slow|down/.test(span.name) ? 'crit, ' : '';
    lines.push(`  ${taskName(span.name)} :${crit}${ms(span.from)}, ${ms(Math.max(span.to, span.from + 0.1))}`);
  }
  for (const entry of report.timeline) lines.push(`  ${taskName(entry.event)} :milestone, ${ms(entry.at)}, ${ms(entry.at)}`);
  lines.push('```');
  return lines.join('\n');
}

function clientsTable(clients: Record<string, ClientFigures>): string {
  return table(
    ['Clients', 'Requests', 'First answers', 'Retried', 'Answers to the retries', 'Replays of an order the failed attempt had recorded'],
    Object.entries(clients).map(([group, c]) => [
      group,
      String(c.requests),
      answers(c.answers),
      String(c.retried),
      c.retried > 0 ? answers(c.retryAnswers) : '—',
      c.retried > 0 ? String(c.replayedOnRetry) : '—',
    ]),
  );
}

function observationLines(observations: ScenarioReport['observations']): string {
  return Object.entries(observations)
    .map(([name, value]) => {
      const shown = typeof value === 'object' ? Object.entries(value).map(([k, v]) => `${k}: ${v}`).join(', ') : String(value);
      return `- ${name}: **${shown}**`;
    })
    .join('\n');
}

function invariantsTable(inv: InvariantFigures): string {
  const rows: string[][] = [
    ['accepted orders (async 202 / sync 201)', `${inv.accepted.async} / ${inv.accepted.sync}`],
    ['confirmed / rejected', `${inv.confirmed} / ${inv.rejected}`],
    ['lost (accepted, not in the database)', String(inv.lost)],
    ['not terminal after the drain', String(inv.notTerminal)],
    ['orders no client was told about (duplicates)', String(inv.unaccountedOrders)],
    ['reservations held / without a confirmed order', `${inv.reservationsHeld} / ${inv.reservationsWithoutConfirmedOrder}`],
    ['outbox rows left', String(inv.outboxLeft)],
  ];
  if (inv.deadLettered !== undefined) rows.push(['dead-lettered messages', String(inv.deadLettered)]);
  if (inv.events) {
    const types = Object.keys(inv.events.messages).sort();
    rows.push(['order events: messages (distinct event ids)', types.map((t) => `${t} ${inv.events!.messages[t]} (${inv.events!.distinctEvents[t]})`).join(', ')]);
    rows.push(['orders decided twice / re-sent copies of one event', `${inv.events.ordersDecidedTwice} / ${inv.events.republishedCopies}`]);
  }
  const stock = table(
    ['Product', 'Initial stock', 'Units of confirmed orders', 'Expected (initial − confirmed)', 'Final stock'],
    inv.stock.map((s) => [`#${s.productId}`, String(s.initial), String(s.confirmedUnits), String(s.initial - s.confirmedUnits), String(s.final)]),
  );
  return `${table(['Invariant', 'Observed'], rows)}\n\n${stock}`;
}

function scenarioSection(report: ScenarioReport): string {
  const ran = report.ranAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return [
    `### ${letter(report)}. ${report.title}`,
    '',
    `\`${report.suite}\`, run ${ran} on ${report.machine}; ${report.seconds} s from the scenario's start to its last check.`,
    '',
    gantt(report),
    '',
    table(['t (s)', 'Event'], report.timeline.map((t) => [t.at.toFixed(1), t.event])),
    '',
    clientsTable(report.clients),
    '',
    ...(Object.keys(report.observations).length > 0 ? [observationLines(report.observations), ''] : []),
    invariantsTable(report.invariants!),
  ].join('\n');
}

/** The generated section (markers included) for one complete set of scenario reports. */
export function renderFigures(reports: readonly ScenarioReport[]): string {
  const byId = new Map(reports.map((r) => [r.id, r]));
  const missing = SCENARIOS.filter((id) => !byId.get(id)?.invariants);
  if (missing.length > 0) throw new Error(`no complete report for scenario(s) ${missing.join(', ')}: did their tests pass?`);
  const ordered = SCENARIOS.map((id) => byId.get(id)!);
  const sumRequests = ordered.reduce((n, r) => n + Object.values(r.clients).reduce((m, c) => m + sum(c.answers), 0), 0);
  return [
    BEGIN,
    '<!-- Written by npm run reliability from the fault suites\' JSON reports; edit the prose outside the markers. -->',
    '',
    `${ordered.length} scenarios, ${sumRequests} client requests in all.`,
    '',
    summaryTable(ordered),
    '',
    ...ordered.flatMap((r) => [scenarioSection(r), '']),
    END,
  ].join('\n');
}

/** `doc` with its generated section replaced by `figures`; fails when the markers are missing. */
export function replaceFigures(doc: string, figures: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/reliability.md has no ${BEGIN} … ${END} section to replace`);
  return doc.slice(0, start) + figures + doc.slice(end + END.length);
}
