/** The built order consumer (`services/order/dist/consumer.js`) as a child process, for crash tests. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const node = path.join(repoRoot, 'node_modules', '.bin', 'node');

/** Builds the order service (and what it references) with the repo's TypeScript; a no-op when up to date. */
export async function buildOrderService(): Promise<void> {
  await promisify(execFile)(node, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'services/order'], {
    cwd: repoRoot,
    timeout: 180_000,
  });
}

export class ConsumerProcess {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts `node dist/consumer.js` with `env` and resolves once it logged that it runs (with its port). */
  static async spawn(env: Record<string, string>, timeoutMs = 30_000): Promise<ConsumerProcess> {
    const child = spawn(node, [path.join(repoRoot, 'services', 'order', 'dist', 'consumer.js')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer did not start within ${timeoutMs} ms:\n${output.slice(-3000)}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        for (const line of output.split('\n')) {
          if (!line.includes('order consumer running')) continue;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
          return;
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`consumer exited during start-up (code ${code}, signal ${signal}):\n${output.slice(-3000)}`));
      });
    });
    const consumer = new ConsumerProcess(child, port);
    consumer.output = output;
    child.stdout!.on('data', (chunk: Buffer) => consumer.keep(chunk));
    child.stderr!.on('data', (chunk: Buffer) => consumer.keep(chunk));
    return consumer;
  }

  get pid(): number {
    return this.child.pid!;
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
