/**
 * CI keeps the local benchmark working: `npm run bench:smoke` against the running MariaDB and Kafka, on
 * the benchmark's own databases, topics and free ports. Figures of a smoke run mean nothing, so no
 * timing or rate is asserted — only that every phase ran, printed its figures and wrote its results.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run bench:smoke', () => {
  const docsReport = path.join(ROOT, 'docs', 'performance', 'local-benchmark.md');
  const docsReportMtime = existsSync(docsReport) ? statSync(docsReport).mtimeMs : undefined;
  let result: { code: number | null; output: string };

  beforeAll(async () => {
    result = await run('npm', ['run', '-s', 'bench:smoke']);
  }, 300_000);

  test('exits 0', () => {
    if (result.code !== 0) console.error(result.output.slice(-4000));
    expect(result.code).toBe(0);
  });

  test('prints throughput and latency percentiles for every phase', () => {
    const out = result.output;
    expect(out).toMatch(/reference ceilings: bare node:http\n.*\d req\/s/);
    expect(out).toMatch(/GET \/products\/:id direct +\d+ ok\/s +p95 [\d.]+ ms/);
    expect(out).toMatch(/GET \/products\/:id gateway +\d+ ok\/s +p95 [\d.]+ ms/);
    expect(out).toMatch(/sync +c=\d+ +\d+ ok\/s +p50 [\d.]+ p95 [\d.]+ p99 [\d.]+ ms +success [\d.]+ %/);
    expect(out).toMatch(/async +c=\d+ +\d+ ok\/s +p50 [\d.]+ p95 [\d.]+ p99 [\d.]+ ms +success [\d.]+ %/);
    expect(out).toMatch(/1 consumer\(s\): \d+ orders drained in [\d.]+ s .*orders\/s, steady \d+\/s/);
    expect(out).toMatch(/tracing off +\d+ ok\/s +p95 [\d.]+ ms/);
    expect(out).toMatch(/tracing on, default ratio 0\.1 +\d+ ok\/s +p95 [\d.]+ ms/);
    expect(out).toMatch(/tracing on, every request \(ratio 1\) +\d+ ok\/s +p95 [\d.]+ ms/);
    expect(out).toMatch(/stock consistent; 0 dead letters/);
  });

  test('writes its results under .local/bench/<run>/ and nothing under docs/', () => {
    const written = /wrote (\.local\/bench\/[a-z0-9]+\/results\.json)/.exec(result.output);
    expect(written).not.toBeNull();
    const results = JSON.parse(readFileSync(path.join(ROOT, written![1]!), 'utf8')) as {
      schema: number;
      options: { smoke: boolean };
      intake: unknown[];
      drain: { final: { pending: number } }[];
      targets: unknown[];
    };
    expect(results.schema).toBe(1);
    expect(results.options.smoke).toBe(true);
    expect(results.intake.length).toBeGreaterThan(0);
    expect(results.drain.length).toBeGreaterThan(0);
    expect(results.drain.every((d) => d.final.pending === 0)).toBe(true);
    expect(results.targets.length).toBeGreaterThan(0);
    expect(existsSync(docsReport) ? statSync(docsReport).mtimeMs : undefined).toBe(docsReportMtime);
  });

  test("never talks to a developer's stack on ports 8080–8083", () => {
    expect(result.output).not.toMatch(/(127\.0\.0\.1|localhost):808[0-3]\b/);
  });
});
