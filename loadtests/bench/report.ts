import type { CpuShare } from './cpu';
import { round } from './load';
import type { BenchResults } from './results';
import { barChart, COLORS, lineChart } from './svg-chart';

type Row = (string | number)[];

const num = (n: number, digits = 0) => round(n, digits).toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (part: number, whole: number) => (whole > 0 ? `${num((part / whole) * 100, 1)} %` : '–');

function textTable(headers: string[], rows: Row[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, ri) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Columns whose cells are all figures (or empty) are right-aligned. */
function mdTable(headers: string[], rows: Row[]): string {
  const numeric = (i: number) => rows.every((r) => /^(|[-+]?[\d.,]+\s*(%|×|s|ms|req\/s|\/s|tx\/s|records\/s)?)$/.test(String(r[i] ?? '')));
  const align = headers.map((_, i) => (i > 0 && numeric(i) ? '---:' : '---'));
  return [headers, align, ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

// ---- the tables, shared by the console and the markdown report ----------------------------------

function ceilingRows(r: BenchResults): Row[] {
  const c = r.ceilings;
  return [
    ['bare node:http GET, 64 connections (autocannon)', `${num(c.bareHttp.okPerSecond)} req/s`, `p95 ${c.bareHttp.latencyMs.p95} ms`],
    [
      `Kafka ProducerPerformance, ${c.kafkaProducer.recordSize} B records, acks=all`,
      `${num(c.kafkaProducer.recordsPerSecond)} records/s`,
      `${c.kafkaProducer.mbPerSecond} MB/s, p95 ${c.kafkaProducer.p95Ms} ms`,
    ],
    [`MariaDB single-row INSERT into orders, ${c.mariadbInsert.connections} connections`, `${num(c.mariadbInsert.perSecond)} /s`, `${c.mariadbInsert.errors} errors`],
    [
      `MariaDB transaction orders + order_items + outbox_events, ${c.mariadbOrderTransaction.connections} connections`,
      `${num(c.mariadbOrderTransaction.perSecond)} tx/s`,
      `${c.mariadbOrderTransaction.errors} errors`,
    ],
  ];
}

function catalogRows(r: BenchResults): Row[] {
  return r.catalog.map((c) => [
    c.endpoint,
    num(c.directPerSecond),
    num(c.gatewayPerSecond),
    `${num(c.ratioPercent, 1)} %`,
    `${c.direct.map((w) => w.load.latencyMs.p95).join(' / ')} ms`,
    `${c.gateway.map((w) => w.load.latencyMs.p95).join(' / ')} ms`,
    ratio(c.directPerSecond, r.ceilings.bareHttp.okPerSecond),
    ratio(c.gatewayPerSecond, r.ceilings.bareHttp.okPerSecond),
  ]);
}
const CATALOG_HEADERS = ['endpoint', 'direct req/s', 'gateway req/s', 'gateway/direct', 'direct p95', 'gateway p95', 'direct/bare http', 'gateway/bare http'];

function non2xx(statuses: Record<string, number>): string {
  const others = Object.entries(statuses).filter(([s]) => !s.startsWith('2'));
  return others.length === 0 ? '0' : others.map(([s, n]) => `${n}×${s}`).join(' ');
}

const PLATFORM = ['gateway', 'product', 'order', 'consumers', 'mariadb', 'kafka'];

/** CPU milliseconds the platform's processes (services, MariaDB, Kafka; not the load generator) spent per unit of work. */
function cpuMsPer(cpu: CpuShare, count: number): string {
  if (count <= 0) return '–';
  const coreSeconds = PLATFORM.reduce((a, p) => a + (cpu.processes[p] ?? 0), 0) / 100 * cpu.seconds;
  return num((coreSeconds * 1000) / count, 2);
}

const perUnit = (value: number, count: number) => (count > 0 ? num(value / count, 1) : '–');

function intakeRows(r: BenchResults): Row[] {
  const tx = r.ceilings.mariadbOrderTransaction.perSecond;
  return r.intake.flatMap((l) =>
    (['sync', 'async'] as const).map((mode) => {
      const w = l[mode].load;
      return [
        l.connections,
        mode,
        num(w.okPerSecond),
        `${num(w.successPercent, 2)} %`,
        w.latencyMs.p50,
        w.latencyMs.p95,
        w.latencyMs.p99,
        non2xx(w.statuses),
        w.errors,
        mode === 'async' ? `${l.asyncToSync}×` : '',
        ratio(w.okPerSecond, tx),
        cpuMsPer(l[mode].cpu, w.ok),
        perUnit(l[mode].db.Questions, w.ok),
        mode === 'async' ? (l.asyncDrainSeconds !== undefined ? `${l.asyncDrainSeconds} s` : 'timeout') : '',
      ];
    }),
  );
}
const INTAKE_HEADERS = ['conns', 'mode', 'orders/s', 'success', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'errors', 'async/sync', 'of tx ceiling', 'CPU ms/order', 'SQL/order', 'drain after'];

function drainRows(r: BenchResults): Row[] {
  const tx = r.ceilings.mariadbOrderTransaction.perSecond;
  return r.drain.map((d) => [
    d.consumers,
    num(d.orders),
    d.drainSeconds !== undefined ? `${d.drainSeconds} s` : 'timeout',
    `${d.startSeconds} s`,
    num(d.ordersPerSecond),
    num(d.steadyOrdersPerSecond),
    ratio(d.steadyOrdersPerSecond, tx),
    `${d.cpu.machineBusyPercent} %`,
    cpuMsPer(d.cpu, d.final.total - d.final.pending),
    perUnit(d.db.Questions, d.final.total - d.final.pending),
    `${d.final.confirmed}/${d.final.rejected}/${d.final.pending}`,
  ]);
}
const DRAIN_HEADERS = ['consumers', 'backlog', 'time to drain', 'of it start-up', 'orders/s', 'steady orders/s', 'of tx ceiling', 'machine CPU busy', 'CPU ms/order', 'SQL/order', 'confirmed/rejected/pending'];

function tracingRows(r: BenchResults): Row[] {
  return (r.tracing?.variants ?? []).map((v) => {
    const ok = v.windows.reduce((a, w) => a + w.load.ok, 0);
    const coreMs = v.windows.reduce((a, w) => a + PLATFORM.reduce((b, p) => b + (w.cpu.processes[p] ?? 0), 0) / 100 * w.cpu.seconds * 1000, 0);
    return [v.name, num(v.okPerSecond), `${num(v.ofUntracedPercent, 1)} %`, v.p95Ms, ok > 0 ? num(coreMs / ok, 2) : '–'];
  });
}
const TRACING_HEADERS = ['variant', 'orders/s', 'of untraced', 'p95 ms', 'CPU ms/order'];

const CPU_COLUMNS = ['gateway', 'product', 'order', 'consumers', 'mariadb', 'kafka', 'load generator', 'bare-http'];

function cpuRow(name: string, cpu: CpuShare): Row {
  return [name, ...CPU_COLUMNS.map((c) => (cpu.processes[c] !== undefined ? `${cpu.processes[c]}` : '')), cpu.otherPercent, `${cpu.machineBusyPercent} %`];
}

function cpuRows(r: BenchResults): Row[] {
  const rows: Row[] = [cpuRow('bare node:http ceiling', r.ceilings.bareHttp.cpu), cpuRow('MariaDB tx ceiling', r.ceilings.mariadbOrderTransaction.cpu)];
  for (const c of r.catalog) {
    c.direct.forEach((w, i) => rows.push(cpuRow(`${c.endpoint} direct #${i + 1}`, w.cpu)));
    c.gateway.forEach((w, i) => rows.push(cpuRow(`${c.endpoint} gateway #${i + 1}`, w.cpu)));
  }
  for (const l of r.intake) {
    rows.push(cpuRow(`sync c=${l.connections}`, l.sync.cpu), cpuRow(`async c=${l.connections}`, l.async.cpu));
  }
  for (const d of r.drain) {
    rows.push(cpuRow(`backlog intake (k=${d.consumers}, no consumer)`, d.intake.cpu), cpuRow(`drain, ${d.consumers} consumer(s)`, d.cpu));
  }
  return rows;
}
const CPU_HEADERS = ['window', ...CPU_COLUMNS, 'other', 'machine busy'];

/** What one order costs the platform on each path: CPU ms per process, SQL statements, commits. */
function costRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const row = (name: string, cpu: CpuShare, db: Record<string, number | undefined>, count: number) => {
    const ms = (p: string) => (count > 0 ? ((cpu.processes[p] ?? 0) / 100) * cpu.seconds * 1000 / count : 0);
    const fsyncs = db.Innodb_data_fsyncs;
    rows.push([
      name,
      ...PLATFORM.map((p) => num(ms(p), 2)),
      cpuMsPer(cpu, count),
      perUnit(db.Questions ?? 0, count),
      perUnit(db.Com_commit ?? 0, count),
      fsyncs !== undefined ? perUnit(fsyncs, count) : '–',
    ]);
  };
  const peak = [...r.intake].sort((a, b) => b.async.load.okPerSecond - a.async.load.okPerSecond)[0];
  if (peak) {
    row(`sync POST /orders, c=${peak.connections}`, peak.sync.cpu, peak.sync.db, peak.sync.load.ok);
    row(`async POST /orders/async, c=${peak.connections}, 1 consumer running`, peak.async.cpu, peak.async.db, peak.async.load.ok);
  }
  const first = r.drain[0];
  if (first) {
    row('async intake alone (backlog, no consumer), c=64', first.intake.cpu, first.intake.db, first.intake.load.ok);
    row(`deciding it later (drain, ${first.consumers} consumer)`, first.cpu, first.db, first.final.total - first.final.pending);
  }
  return rows;
}
const COST_HEADERS = ['path', ...PLATFORM.map((p) => `${p} ms`), 'CPU ms/order', 'SQL/order', 'commits/order', 'fsyncs/order'];

/** How much of the machine other jobs took while this run measured: mean and worst window. */
function otherCpu(r: BenchResults): string {
  const windows = [
    ...r.catalog.flatMap((c) => [...c.direct, ...c.gateway].map((w) => w.cpu)),
    ...r.intake.flatMap((l) => [l.sync.cpu, l.async.cpu]),
    ...r.drain.flatMap((d) => [d.intake.cpu, d.cpu]),
  ];
  if (windows.length === 0) return '–';
  const values = windows.map((c) => c.otherPercent);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const quiet = values.filter((v) => v < 15).length;
  return `mean ${num(mean, 0)} % of one core, worst ${num(Math.max(...values), 0)} %; ${quiet} of ${values.length} windows under 15 %`;
}

function targetRows(r: BenchResults): Row[] {
  return r.targets.map((t) => [t.description, t.target, t.measured, t.met ? 'met' : `**missed**: ${t.detail}`]);
}

// ---- console ------------------------------------------------------------------------------------

/** The readable tables printed at the end of a run. */
export function consoleSummary(r: BenchResults): string {
  const parts = [
    `Reference ceilings (same machine, same run)\n${textTable(['what', 'rate', ''], ceilingRows(r))}`,
    `Catalogue reads, ${r.options.catalogConnections} connections, mean of ${r.options.catalogRounds} round(s) × ${r.options.catalogSeconds} s\n${textTable(CATALOG_HEADERS, catalogRows(r))}`,
    `Order intake through the gateway, ${r.options.orderSeconds} s per window (1 consumer running)\n${textTable(INTAKE_HEADERS, intakeRows(r))}`,
    `Consumer pipeline: backlog of ${r.options.backlogOrders} async orders\n${textTable(DRAIN_HEADERS, drainRows(r))}`,
    ...(r.tracing ? [`Tracing overhead: ${r.tracing.path}, ${r.tracing.connections} connections, mean of ${r.tracing.rounds} round(s) × ${r.options.orderSeconds} s\n${r.tracing.skipped ? `  skipped: ${r.tracing.skipped}` : textTable(TRACING_HEADERS, tracingRows(r))}`] : []),
    `Stock: ${r.invariants.consistent ? 'consistent' : 'INCONSISTENT'} (initial ${num(r.invariants.initialStock)} = remaining ${num(r.invariants.remainingStock)} + confirmed ${num(r.invariants.confirmedUnits)}); lowest product stock ${num(r.invariants.lowestProductStock)}; dead letters ${r.invariants.deadLetters}`,
    `Targets\n${r.targets.map((t) => `  [${t.met ? 'met' : 'MISSED'}] ${t.description}: ${t.measured} (target ${t.target})`).join('\n')}`,
  ];
  return parts.join('\n\n') + '\n';
}

// ---- plots --------------------------------------------------------------------------------------

/** The SVG plots of a run, by file name. */
export function plots(r: BenchResults): Record<string, string> {
  const categories = r.intake.map((l) => String(l.connections));
  const out: Record<string, string> = {};
  if (r.intake.length > 0) {
    out['orders-throughput.svg'] = lineChart({
      title: 'Order intake through the gateway: throughput',
      xLabel: 'concurrent connections',
      yLabel: 'accepted orders/s (2xx)',
      categories,
      series: [
        { name: 'async POST /orders/async (202)', values: r.intake.map((l) => l.async.load.okPerSecond), color: COLORS.async },
        { name: 'sync POST /orders (201)', values: r.intake.map((l) => l.sync.load.okPerSecond), color: COLORS.sync },
      ],
      references: [{ label: `MariaDB order+item+outbox tx ceiling ${num(r.ceilings.mariadbOrderTransaction.perSecond)}/s`, value: r.ceilings.mariadbOrderTransaction.perSecond, color: COLORS.neutral }],
    });
    out['orders-p95.svg'] = lineChart({
      title: 'Order intake through the gateway: p95 latency',
      xLabel: 'concurrent connections',
      yLabel: 'p95 latency (ms)',
      categories,
      series: [
        { name: 'sync POST /orders', values: r.intake.map((l) => l.sync.load.latencyMs.p95), color: COLORS.sync },
        { name: 'async POST /orders/async', values: r.intake.map((l) => l.async.load.latencyMs.p95), color: COLORS.async },
      ],
    });
  }
  if (r.drain.length > 0) {
    out['consumer-drain.svg'] = barChart({
      title: `Draining a backlog of ${num(r.options.backlogOrders)} async orders`,
      xLabel: 'order consumer processes',
      yLabel: 'seconds',
      categories: r.drain.map((d) => String(d.consumers)),
      series: [
        { name: 'time to drain (s, start-up included)', values: r.drain.map((d) => d.drainSeconds ?? null), color: COLORS.drain },
        { name: 'of it: process start-up (s)', values: r.drain.map((d) => d.startSeconds), color: COLORS.neutral },
      ],
    });
    out['consumer-throughput.svg'] = barChart({
      title: 'Consumer pipeline throughput',
      xLabel: 'order consumer processes',
      yLabel: 'orders decided per second',
      categories: r.drain.map((d) => String(d.consumers)),
      series: [
        { name: 'steady (middle 80 % of decisions)', values: r.drain.map((d) => d.steadyOrdersPerSecond), color: COLORS.async },
        { name: 'overall (start-up included)', values: r.drain.map((d) => d.ordersPerSecond), color: COLORS.drain },
      ],
    });
  }
  if (r.catalog.length > 0) {
    out['catalog-reads.svg'] = barChart({
      title: 'Catalogue reads: direct vs through the gateway',
      xLabel: 'endpoint',
      yLabel: 'requests/s',
      categories: r.catalog.map((c) => c.endpoint),
      series: [
        { name: 'direct to the product service', values: r.catalog.map((c) => c.directPerSecond), color: COLORS.direct },
        { name: 'through the gateway', values: r.catalog.map((c) => c.gatewayPerSecond), color: COLORS.gateway },
      ],
    });
  }
  return out;
}

// ---- markdown -----------------------------------------------------------------------------------

export const ANALYSIS_START = '<!-- analysis:start (kept when the report is regenerated) -->';
export const ANALYSIS_END = '<!-- analysis:end -->';

/** The markdown report; `analysis` (hand-written, between the markers) is carried over from the previous report. */
export function markdownReport(r: BenchResults, plotDir: string, resultsFile: string, analysis: string | undefined): string {
  const m = r.machine;
  const c = r.ceilings;
  const peakAsync = Math.max(0, ...r.intake.map((l) => l.async.load.okPerSecond));
  const peakSync = Math.max(0, ...r.intake.map((l) => l.sync.load.okPerSecond));
  const lines: string[] = [];
  const add = (...s: string[]) => lines.push(...s);

  add(
    '# Local benchmark report',
    '',
    `Generated by \`${r.command}\` (run \`${r.runId}\`, ${r.startedAt} → ${r.finishedAt}, ${num(r.durationSeconds)} s). ` +
      `Raw figures: [${resultsFile}](${resultsFile}). How to reproduce and what each phase does: [README.md](README.md).`,
    '',
    '## Targets (issue 7)',
    '',
    mdTable(['target', 'wanted', 'measured', 'verdict'], targetRows(r)),
    '',
    '## Machine and conditions',
    '',
    mdTable(
      ['what', 'value'],
      [
        ['CPU (/proc/cpuinfo)', m.cpuModel],
        ['cores (nproc)', m.nproc],
        ['OS, kernel', `${m.os}, ${m.kernel}`],
        ['Node (services and load generator)', m.node],
        ['Kafka broker (local/kafka.sh, KRaft, 1 node)', `${m.kafka}, ${r.setup.partitions} partitions per topic`],
        ['MariaDB (local/mariadb.sh, default durability)', m.mariadb],
        ['Java (broker, ProducerPerformance)', m.java],
        ['load average at start (1/5/15 min)', m.loadAverageAtStart.join(' / ')],
        ['CPU used by other jobs during the measured windows', otherCpu(r)],
        [
          'other test runs',
          r.quiet.activeAtStart.length === 0
            ? `none running at the start${r.quiet.waitedSeconds > 0 ? ` (waited ${num(r.quiet.waitedSeconds)} s for them to finish)` : ''}`
            : `${r.quiet.activeAtStart.length} still running at the start${r.quiet.gaveUp ? ` after waiting ${num(r.quiet.waitedSeconds)} s (gave up waiting)` : ''}: figures are noisier`,
        ],
      ],
    ),
    '',
    '```',
    `$ free -m`,
    m.free,
    '```',
    '',
    'Everything — load generator (autocannon in the benchmark process), gateway, product service, order service, ' +
      'order consumers, MariaDB and Kafka — shares these cores over loopback, so every figure includes the cost of the ' +
      'others. The column "other" in the CPU table shows how much CPU went to processes outside this benchmark.',
    '',
    '### Set-up',
    '',
    `- The benchmark starts its **own** product service, order service, gateway and order consumers (the built \`dist/\` entry points, Node ${m.node}) on free loopback ports, against the local MariaDB and Kafka, with **fresh** databases (\`${r.setup.databases.join('`, `')}\`) and topics (${r.setup.partitions} partitions) named after the run, dropped at the end. A developer's stack on 8080–8083 and its data are not touched.`,
    `- Catalogue: ${r.setup.products} products with ${num(r.setup.stockPerProduct)} units each; every order is one line of quantity 1 for a random product, so stock never runs out (lowest stock at the end: ${num(r.invariants.lowestProductStock)}) and row-lock contention is spread over ${r.setup.products} rows.`,
    `- Services run with \`LOG_LEVEL=${r.setup.serviceLogLevel}\` (${r.setup.serviceLogLevel === 'info' ? 'access logs included' : 'no per-request access log lines'}) and otherwise default settings (gateway pool 64 connections per upstream, DB pools 20, consumer concurrency 12).`,
    '- Authentication is on as in production: every order request carries a bearer token (HS256, this run\'s local issuer) that the gateway verifies, and the gateway forwards a signed identity the order and product services verify. Catalogue reads are anonymous. The gateway\'s rate limits are **off** (`RATE_LIMIT_PER_IP=0`, `RATE_LIMIT_PER_IDENTITY=0`): one load generator on one address with one user per window would otherwise measure the limiter.',
    `- Each window: ${r.options.warmupSeconds} s warm-up (not counted), then the measured window; latencies are exact percentiles over every response. Success = 2xx / (responses + connection errors).`,
    '',
    '## Reference ceilings',
    '',
    mdTable(['what', 'rate', 'detail'], ceilingRows(r)),
    '',
    `Kafka's summary line: \`${c.kafkaProducer.summary}\``,
    '',
    '| our figure | ceiling | ratio |',
    '| --- | --- | ---: |',
    ...r.catalog.map((e) => `| catalogue ${e.endpoint} direct, ${num(e.directPerSecond)} req/s | bare node:http | ${ratio(e.directPerSecond, c.bareHttp.okPerSecond)} |`),
    ...r.catalog.map((e) => `| catalogue ${e.endpoint} through the gateway, ${num(e.gatewayPerSecond)} req/s | bare node:http | ${ratio(e.gatewayPerSecond, c.bareHttp.okPerSecond)} |`),
    `| peak async intake, ${num(peakAsync)} orders/s | MariaDB order+item+outbox tx | ${ratio(peakAsync, c.mariadbOrderTransaction.perSecond)} |`,
    `| peak sync intake, ${num(peakSync)} orders/s | MariaDB order+item+outbox tx | ${ratio(peakSync, c.mariadbOrderTransaction.perSecond)} |`,
    `| peak async intake (one order.placed each) | Kafka producer | ${ratio(peakAsync, c.kafkaProducer.recordsPerSecond)} |`,
    `| peak async intake (3 row inserts each) | MariaDB single-row INSERT | ${ratio(peakAsync * 3, c.mariadbInsert.perSecond)} (rows) |`,
    ...r.drain.map(
      (d) => `| consumer drain with ${d.consumers} process(es), ${num(d.steadyOrdersPerSecond)} orders/s | MariaDB order+item+outbox tx | ${ratio(d.steadyOrdersPerSecond, c.mariadbOrderTransaction.perSecond)} |`,
    ),
    '',
    '## Catalogue reads: gateway vs direct',
    '',
    mdTable(CATALOG_HEADERS, catalogRows(r)),
    '',
    `${r.options.catalogConnections} connections, ${r.options.catalogSeconds} s per window, ${r.options.catalogRounds} interleaved round(s) per side (p95 listed per round).`,
    '',
    `![catalogue reads](${plotDir}/catalog-reads.svg)`,
    '',
    '## Order intake: sync vs async through the gateway',
    '',
    mdTable(INTAKE_HEADERS, intakeRows(r)),
    '',
    ...(r.drain.length > 0
      ? [
          `Async intake with **no** consumer running (the backlog phase below, 64 connections): ${r.drain.map((d) => `${num(d.intake.load.okPerSecond)}/s`).join(', ')} ` +
            `(p95 ${r.drain.map((d) => `${d.intake.load.latencyMs.p95} ms`).join(', ')}); that is ${num(Math.max(...r.drain.map((d) => d.intake.load.okPerSecond)) / Math.max(1, peakSync), 2)}× the peak sync rate.`,
          '',
        ]
      : []),
    '"CPU ms/order": CPU time of the gateway, services, consumers, MariaDB and Kafka (not the load generator) in the window, per order answered 2xx — ' +
      'for async it includes whatever the running consumer did in the window. "SQL/order": statements MariaDB received (its `Questions` counter) per order.',
    '',
    `Each window ${r.options.orderSeconds} s. One order consumer process runs throughout (as \`platform.sh up\` runs it), so it competes for the CPU with async intake while it confirms orders. ` +
      '"drain after": seconds after the async window until every order of that level was decided; the next window starts only then.',
    '',
    mdTable(
      ['conns', 'async accepted (incl. warm-up)', 'decided by window end', 'drain after window', 'confirmed', 'rejected', 'pending at the end'],
      r.intake.map((l) => [
        l.connections,
        num(l.asyncAtWindowEnd.total),
        num(l.asyncAtWindowEnd.total - l.asyncAtWindowEnd.pending),
        l.asyncDrainSeconds !== undefined ? `${l.asyncDrainSeconds} s` : 'timeout',
        num(l.asyncFinal.confirmed),
        num(l.asyncFinal.rejected),
        num(l.asyncFinal.pending),
      ]),
    ),
    '',
    `![throughput vs concurrency](${plotDir}/orders-throughput.svg)`,
    '',
    `![p95 latency vs concurrency](${plotDir}/orders-p95.svg)`,
    '',
    '## Consumer pipeline: draining a backlog',
    '',
    mdTable(DRAIN_HEADERS, drainRows(r)),
    '',
    `For each row: with no consumer running, ${num(r.options.backlogOrders)} async orders were taken through the gateway (64 connections; ` +
      `${r.drain.map((d) => `${num(d.intake.load.okPerSecond)}/s`).join(', ')}) and the outbox relay published them ` +
      `(${r.drain.map((d) => `${d.relaySeconds} s`).join(', ')}); then k consumer processes were started at once. ` +
      '"time to drain" runs from spawning them until no order was pending (start-up and group rebalances included); ' +
      '"steady" is the rate over the middle 80 % of the decisions (10th to 90th percentile of their times).',
    '',
    `![drain time vs consumers](${plotDir}/consumer-drain.svg)`,
    '',
    `![drain throughput vs consumers](${plotDir}/consumer-throughput.svg)`,
    '',
    '## Tracing overhead (issue 17)',
    '',
    ...(r.tracing === undefined
      ? ['Not measured in this run (it predates the tracing phase).']
      : r.tracing.skipped
        ? [`Not measured: ${r.tracing.skipped}.`]
        : [
            mdTable(TRACING_HEADERS, tracingRows(r)),
            '',
            `${r.tracing.path}, ${r.tracing.connections} connections, ${r.tracing.rounds} rotating rounds × ${r.options.orderSeconds} s per variant, each variant on its own ` +
              `gateway, order and product processes (same databases). Traced variants export OTLP/HTTP to the local Jaeger (${r.tracing.otlpUrl}) with the ` +
              'parentbased_traceidratio sampler; "of untraced" is the same-run ratio of orders/s. CPU ms/order counts the gateway, order, product, consumer, ' +
              'MariaDB and Kafka processes (Jaeger is not counted: in production it runs elsewhere). Tracing off loads no SDK at all (docs/tracing.md).',
          ]),
    '',
    '## Consistency',
    '',
    `Stock ${r.invariants.consistent ? 'is consistent' : '**is inconsistent**'}: initial ${num(r.invariants.initialStock)} = remaining ${num(r.invariants.remainingStock)} + ${num(r.invariants.confirmedUnits)} units of confirmed orders. ` +
      `Orders: ${num(r.invariants.orders.sync)} sync, ${num(r.invariants.orders.asyncConfirmed)} async confirmed, ${num(r.invariants.orders.asyncRejected)} async rejected, ${num(r.invariants.orders.asyncPending)} async pending; ${r.invariants.deadLetters} dead letters.`,
    '',
    '## What one order costs',
    '',
    mdTable(COST_HEADERS, costRows(r)),
    '',
    'CPU milliseconds per order of each process (from /proc during the window), and what MariaDB received per order (`SHOW GLOBAL STATUS` ' +
      'counters `Questions`, `Com_commit`, `Innodb_data_fsyncs`; server-wide, so another client of the same MariaDB would inflate them). ' +
      'The async path is "intake alone" plus "deciding it later".',
    '',
    '## Where the CPU went (per process, % of one core, from /proc during each window)',
    '',
    mdTable(CPU_HEADERS, cpuRows(r)),
    '',
    `100 = one core fully busy; the machine has ${m.nproc} cores, so ${m.nproc}00 is everything. "other" = the machine's busy time not used by the processes listed (other jobs, the kernel).`,
    '',
  );
  if (r.profiles.length > 0) {
    add(
      '## CPU profiles',
      '',
      `Taken after the measured phases (so profiling overhead is not in the figures): V8 CPU profiles of each service process during a ${r.options.profileSeconds} s window ` +
        'at 64 connections, started and stopped with SIGUSR2 by a preloaded hook (`loadtests/bench/profile-hook.ts`). Shares are of the process\'s busy (non-idle) samples.',
      '',
      mdTable(
        ['window', 'process', 'busy', 'by package', 'hottest functions (self time)'],
        r.profiles.map((p) => [
          p.window,
          p.process,
          `${p.busyPercent} %`,
          p.categories
            .slice(0, 6)
            .map((c) => `${c.name} ${c.percent} %`)
            .join(', '),
          p.top
            .slice(0, 4)
            .map((f) => `\`${f.fn}\` ${f.where ? `(${f.where.replace(/\|/g, '/')}) ` : ''}${f.percent} %`)
            .join(', '),
        ]),
      ),
      '',
    );
  }
  add(
    '## Analysis',
    '',
    ANALYSIS_START,
    analysis?.trim() ?? '_Not written yet: explain missed targets here (this section survives regeneration)._',
    ANALYSIS_END,
    '',
  );
  return lines.join('\n');
}
