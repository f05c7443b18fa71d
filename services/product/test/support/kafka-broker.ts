/** A dedicated Kafka broker for fault tests, driven through local/kafka.sh (or ESHOP_KAFKA_SCRIPT). */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

export function kafkaScript(): string {
  return process.env.ESHOP_KAFKA_SCRIPT ?? path.join(repoRoot, 'local', 'kafka.sh');
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class DedicatedBroker {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly controllerPort: number,
  ) {}

  /** Reserves a name and two free ports; nothing runs until start(). */
  static async create(prefix: string): Promise<DedicatedBroker> {
    const name = `${prefix}-${Date.now().toString(36)}-${process.pid.toString(36)}`.toLowerCase().slice(0, 40);
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    return new DedicatedBroker(name, port, controllerPort);
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  async start(): Promise<void> {
    await this.script('start', '--port', String(this.port), '--controller-port', String(this.controllerPort));
  }

  async stop(): Promise<void> {
    await this.script('stop');
  }

  /** Stops the broker and deletes its data folder. */
  async destroy(): Promise<void> {
    await this.script('reset');
  }

  private async script(command: string, ...args: string[]): Promise<void> {
    try {
      await run(kafkaScript(), [command, '--name', this.name, ...args], { timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${kafkaScript()} ${command} --name ${this.name} failed: ${e.stderr ?? e.message}`);
    }
  }
}
