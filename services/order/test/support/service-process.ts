/**
 * The built services (their `dist/` entry points) as child processes, for crash tests: only a process of its
 * own can be killed with SIGKILL (no shutdown hook runs, no offset is committed, no outbox row is deleted,
 * connections are dropped mid-request), and started again on the same port the way a supervisor would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const node = path.join(repoRoot, 'node_modules', '.bin', 'node');

/** Entry point and the log message it writes (with its `port`) once it serves. */
const ENTRIES = {
  'order-api': { script: 'services/order/dist/main.js', running: 'order service listening' },
  'order-consumer': { script: 'services/order/dist/consumer.js', running: 'order consumer running' },
  product: { script: 'services/product/dist/main.js', running: 'product service listening' },
} as const;

export type ServiceEntry = keyof typeof ENTRIES;

/** Builds the order and product services (and what they reference) with the repo's TypeScript; a no-op when up to date. */
export async function buildServices(): Promise<void> {
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(node, [tsc, '-b', 'services/order', 'services/product'], { cwd: repoRoot, timeout: 180_000 });
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    throw new Error(`building the services failed: ${e.stdout || e.message}`);
  }
}

export class ServiceProcess {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly entry: ServiceEntry,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts `node <entry>` with `env` and resolves once it logged that it serves (with its port). */
  static async spawn(entry: ServiceEntry, env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> {
    const { script, running } = ENTRIES[entry];
    const child = spawn(node, [path.join(repoRoot, script)], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${entry} did not start within ${timeoutMs} ms:\n${output.slice(-3000)}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        for (const line of output.split('\n')) {
          if (!line.includes(running)) continue;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
          return;
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${entry} exited during start-up (code ${code}, signal ${signal}):\n${output.slice(-3000)}`));
      });
    });
    const started = new ServiceProcess(child, entry, port);
    started.output = output;
    child.stdout!.on('data', (chunk: Buffer) => started.keep(chunk));
    child.stderr!.on('data', (chunk: Buffer) => started.keep(chunk));
    return started;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The last part of its output, for failure messages. */
  get logTail(): string {
    return this.output.slice(-5000);
  }

  /** kill -9: no shutdown, no offset commit, connections dropped mid-request. */
  async crash(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the graceful shutdown; returns the exit code. */
  async terminate(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return (await this.exited).code;
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
  }
}
