/**
 * A Kafka broker or MariaDB server of a fault test's own, driven through local/kafka.sh and
 * local/mariadb.sh (or ESHOP_KAFKA_SCRIPT / ESHOP_MARIADB_SCRIPT), so the test can stop and restart it
 * without touching the shared default instances that other test files use.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { TestDatabase } from './index';
import { freePort } from './ports';

const run = promisify(execFile);
const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** `<prefix>-<time>-<pid>`: unique per run, within the scripts' 40-character name rule. */
function instanceName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${process.pid.toString(36)}`.toLowerCase().slice(0, 40);
}

async function script(file: string, command: string, name: string, args: string[] = []): Promise<void> {
  try {
    await run(file, [command, '--name', name, ...args], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${command} --name ${name} failed: ${e.stderr || e.message}`);
  }
}

export class DedicatedBroker {
  private readonly script = process.env.ESHOP_KAFKA_SCRIPT ?? path.join(repoRoot, 'local', 'kafka.sh');

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly controllerPort: number,
  ) {}

  /** Reserves a name and two free ports; nothing runs until start(). */
  static async create(prefix: string): Promise<DedicatedBroker> {
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    return new DedicatedBroker(instanceName(prefix), port, controllerPort);
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** Starts it (the first start formats its storage) and resolves once it answers metadata requests. */
  async start(): Promise<void> {
    await script(this.script, 'start', this.name, ['--port', String(this.port), '--controller-port', String(this.controllerPort)]);
  }

  /** SIGTERM and wait; `hard`: kill -9 (no controlled shutdown, no flush). */
  async stop(options: { hard?: boolean } = {}): Promise<void> {
    await script(this.script, 'stop', this.name, options.hard ? ['--hard'] : []);
  }

  /** Stops it and deletes its data folder. */
  async destroy(): Promise<void> {
    await script(this.script, 'reset', this.name);
  }
}

export interface DatabaseServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export class DedicatedMariaDb {
  private readonly script = process.env.ESHOP_MARIADB_SCRIPT ?? path.join(repoRoot, 'local', 'mariadb.sh');

  private constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  static async create(prefix: string): Promise<DedicatedMariaDb> {
    return new DedicatedMariaDb(instanceName(prefix), await freePort());
  }

  /** The application account local/mariadb.sh creates on every start (eshop/eshop, all privileges). */
  get server(): DatabaseServer {
    return { host: '127.0.0.1', port: this.port, user: 'eshop', password: 'eshop' };
  }

  /** Starts it (the first start initialises the data folder, the account and order_db/product_db). */
  async start(): Promise<void> {
    await script(this.script, 'start', this.name, ['--port', String(this.port)]);
  }

  /** Clean shutdown (mariadb-admin shutdown): every client connection is cut. */
  async stop(): Promise<void> {
    await script(this.script, 'stop', this.name);
  }

  async destroy(): Promise<void> {
    await script(this.script, 'reset', this.name);
  }

  /**
   * A database on this server, like createTestDatabase's: `query` for assertions (its pool reconnects
   * after a restart), `drop` ends the pool (the data goes with destroy()).
   */
  async database(name: string): Promise<TestDatabase> {
    const admin = await mysql.createConnection(this.server);
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    const pool = mysql.createPool({ ...this.server, database: name, connectionLimit: 2, decimalNumbers: false });
    return {
      options: { ...this.server, database: name, poolMax: 20 },
      query: async <T>(sql: string, params: unknown[] = []) => {
        const [rows] = await pool.query(sql, params);
        return rows as T[];
      },
      drop: async () => {
        await pool.end();
      },
    };
  }
}
