/**
 * A real Prometheus (Debian's) for the experiment: scrapes the gateway, product and order API every second, and
 * the order consumers as they come and go (file-based service discovery, rewritten on every start and stop), so
 * the series the dashboards show exist for this run; then the order pipeline dashboard's own queries run on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { allPanelQueries, substituteVariables } from '../../dashboards/src';
import { freePort } from '../bench/stack';

export interface DashboardQueryResult {
  readonly panel: string;
  readonly expr: string;
  /** Series returned at the moment of the highest lag; null when the query failed. */
  readonly series: number | null;
  /** Sum over the series at that moment. */
  readonly value: number | null;
  /** Reads series only a cluster has (kube-state-metrics, the Kafka exporter): syntax checked, no data expected. */
  readonly clusterOnly: boolean;
  readonly error?: string;
}

const DASHBOARD_UID = 'eshop-order-pipeline';

export function prometheusBinary(): string {
  for (const p of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) if (existsSync(p)) return p;
  throw new Error("prometheus not found: apt-get install prometheus (or run local/platform.sh deps), or run with --no-prometheus");
}

export class ExperimentPrometheus {
  private constructor(private readonly child: ChildProcess, readonly url: string, private readonly targetsFile: string) {}

  static async start(workDir: string, jobs: Record<string, string>): Promise<ExperimentPrometheus> {
    const dir = path.join(workDir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const targetsFile = path.join(dir, 'order-consumers.json');
    writeFileSync(targetsFile, '[]');
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
      scrape_configs: [
        ...Object.entries(jobs).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [target], labels: { service: job } }] })),
        { job_name: 'order-consumer', file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }] },
      ],
    };
    writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    const out = openSync(path.join(dir, 'prometheus.log'), 'a');
    const child = spawn(
      prometheusBinary(),
      [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const p = new ExperimentPrometheus(child, `http://127.0.0.1:${port}`, targetsFile);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}; see ${dir}/prometheus.log`);
      const ready = await fetch(`${p.url}/-/ready`).then((r) => r.status === 200).catch(() => false);
      if (ready) return p;
      if (Date.now() > deadline) throw new Error(`prometheus not ready within 15 s; see ${dir}/prometheus.log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The consumers to scrape now (host:port each). */
  setConsumers(targets: readonly string[]): void {
    writeFileSync(this.targetsFile, JSON.stringify([{ targets, labels: { service: 'order-consumer' } }]));
  }

  async query(expr: string, at?: Date): Promise<{ series: number; value: number } | { error: string }> {
    const body = new URLSearchParams({ query: expr, ...(at ? { time: String(at.getTime() / 1000) } : {}) });
    const res = await fetch(`${this.url}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const json = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ value?: [number, string] }> } };
    if (json.status !== 'success') return { error: json.error ?? json.status };
    const result = json.data?.result ?? [];
    return { series: result.length, value: result.reduce((sum, r) => sum + (Number(r.value?.[1]) || 0), 0) };
  }

  /** Every query of the order pipeline dashboard (the autoscaling view), evaluated at `at`. */
  async dashboardQueries(at?: Date): Promise<DashboardQueryResult[]> {
    const out: DashboardQueryResult[] = [];
    for (const q of allPanelQueries().filter((q) => q.dashboard === DASHBOARD_UID)) {
      const expr = substituteVariables(q.expr);
      const r = await this.query(expr, at);
      out.push('error' in r
        ? { panel: q.panel, expr, series: null, value: null, clusterOnly: q.clusterOnly, error: r.error }
        : { panel: q.panel, expr, series: r.series, value: Math.round(r.value * 1000) / 1000, clusterOnly: q.clusterOnly });
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
