/**
 * A throwaway Prometheus (Debian's `prometheus` binary) for tests: its own config, rule files and data folder
 * in a temp dir, on a free 127.0.0.1 port, scraping the given targets every second. `stop()` kills it and
 * removes the folder; a process exit hook does the same if a test run dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { eventually, freePort } from '@eshop/test-support';
import { binary } from './rules';

export interface QueryResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string] }> };
}

export class TestPrometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly onExit: () => void,
  ) {}

  /** Starts Prometheus scraping `jobs` (job name → host:port, path /metrics) with `ruleFiles` loaded. */
  static async start(jobs: Record<string, string>, ruleFiles: string[]): Promise<TestPrometheus> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eshop-prometheus-'));
    const port = await freePort();
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: Object.entries(jobs).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
    };
    writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
    const log = path.join(dir, 'prometheus.log');
    const out = openSync(log, 'a');
    const child = spawn(
      binary('prometheus'),
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out); // the child has its own copy
    const onExit = () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    const prometheus = new TestPrometheus(child, dir, `http://127.0.0.1:${port}`, onExit);
    try {
      await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
        const res = await fetch(`${prometheus.url}/-/ready`);
        if (res.status !== 200) throw new Error(`/-/ready answered ${res.status}`);
      }, 15_000, 100);
    } catch (err) {
      const tail = prometheus.log().split('\n').slice(-20).join('\n');
      await prometheus.stop();
      throw new Error(`prometheus did not become ready: ${(err as Error).message}\n${tail}`);
    }
    return prometheus;
  }

  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'prometheus.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** An instant query through the HTTP API (POST, so long expressions fit). Errors come back as status "error". */
  async query(expr: string): Promise<QueryResult> {
    const res = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }),
    });
    return (await res.json()) as QueryResult;
  }

  /** /api/v1/rules: the loaded groups with each rule's health and last error. */
  async rules(): Promise<Array<{ name: string; file: string; rules: Array<{ name: string; health: string; lastError?: string; type: string }> }>> {
    const res = await fetch(`${this.url}/api/v1/rules`);
    return ((await res.json()) as { data: { groups: never[] } }).data.groups;
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
