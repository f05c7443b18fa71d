import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { mintAccessToken, type Role } from '@eshop/common';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import type { Watched } from './cpu';

/**
 * The repository root: the nearest folder up from this file that holds local/platform.sh (this file runs from
 * loadtests/bench/dist, from another tool's dist tree, or as TypeScript under jest).
 */
export const REPO_ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'local', 'platform.sh'))) return dir;
  }
  throw new Error(`no repository root (local/platform.sh) above ${__dirname}`);
})();

/** Where the local MariaDB and Kafka are: the environment, else .local/stack.env, else the defaults. */
export interface Infra {
  readonly db: { host: string; port: number; user: string; password: string };
  readonly kafkaBrokers: string[];
  readonly partitions: number;
  /** The local Jaeger's OTLP/HTTP base URL (local/platform.sh infra), when it runs. */
  readonly otlpUrl?: string;
}

export class InfraUnavailableError extends Error {}

function parseStackEnv(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  if (!existsSync(file)) return values;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)='(.*)'\s*$/.exec(line);
    if (match) values[match[1]!] = match[2]!.replace(/'\\''/g, "'");
  }
  return values;
}

export function infraSettings(env: NodeJS.ProcessEnv = process.env): Infra {
  const file = parseStackEnv(env.ESHOP_STACK_ENV ?? path.join(REPO_ROOT, '.local', 'stack.env'));
  const get = (name: string, fallback: string) => env[name] ?? file[name] ?? fallback;
  return {
    db: {
      host: get('ORDER_DB_HOST', '127.0.0.1'),
      port: Number(get('ORDER_DB_PORT', '3307')),
      user: get('ORDER_DB_USER', 'eshop'),
      password: get('ORDER_DB_PASSWORD', 'eshop'),
    },
    kafkaBrokers: get('KAFKA_BROKERS', '127.0.0.1:9092').split(','),
    partitions: Number(env.ESHOP_TOPIC_PARTITIONS ?? 12),
    ...(get('ESHOP_JAEGER_OTLP_URL', '') ? { otlpUrl: get('ESHOP_JAEGER_OTLP_URL', '') } : {}),
  };
}

export function kafkaClient(infra: Infra, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: infra.kafkaBrokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
}

/** Fails within seconds, naming what does not answer, when MariaDB or Kafka is not running. */
export async function checkInfra(infra: Infra): Promise<{ mariadbVersion: string }> {
  const problems: string[] = [];
  let mariadbVersion = '';
  try {
    const conn = await mysql.createConnection({ ...infra.db, connectTimeout: 3000 });
    try {
      const [rows] = await conn.query('SELECT VERSION() AS v');
      mariadbVersion = String((rows as { v: string }[])[0]?.v ?? '');
    } finally {
      await conn.end();
    }
  } catch (err) {
    problems.push(`MariaDB at ${infra.db.host}:${infra.db.port}: ${(err as Error).message}`);
  }
  const admin = kafkaClient(infra, 'eshop-bench-check').admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (err) {
    problems.push(`Kafka at ${infra.kafkaBrokers.join(',')}: ${(err as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  if (problems.length > 0) {
    throw new InfraUnavailableError(
      `infrastructure not running: start it with ./local/platform.sh infra (or up)\n  ${problems.join('\n  ')}`,
    );
  }
  return { mariadbVersion };
}

export type ServiceKind = 'product' | 'order' | 'consumer' | 'gateway';

const ENTRY: Record<ServiceKind, string> = {
  product: 'services/product/dist/main.js',
  order: 'services/order/dist/main.js',
  consumer: 'services/order/dist/consumer.js',
  gateway: 'services/gateway/dist/main.js',
};

export interface ServiceProcess {
  readonly name: string;
  readonly kind: ServiceKind;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU profiles on SIGUSR2 (profile-hook.ts), loaded into every service the benchmark starts. */
const PROFILE_HOOK = path.join(__dirname, 'profile-hook.js');

/** The gateway's rate limits are off in the benchmark (0 = no limit); the report says so. */
export const BENCH_RATE_LIMITS = { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_IDENTITY: '0' } as const;

/**
 * The benchmark's own copy of the platform: fresh databases and topics named after the run, and the
 * built services (dist/) started as separate Node 24 processes on free loopback ports, against the
 * local MariaDB and Kafka. A developer's stack (ports 8080–8083, product_db, order_db, their topics
 * and consumer group) is never touched, and each run starts from empty tables.
 */
export class BenchStack {
  readonly runId: string;
  readonly productDb: string;
  readonly orderDb: string;
  readonly ceilingDb: string;
  readonly topics: { product: string; order: string; dlq: string; perf: string };
  readonly consumerGroup: string;
  private readonly services = new Map<string, ServiceProcess>();
  private readonly infraPids: Watched[] = [];
  private createdDbs: string[] = [];
  private createdTopics: string[] = [];
  private port = { product: 0, order: 0 };
  /**
   * This run's keys: a local issuer for the gateway (orders carry a bearer token, as in production the gateway
   * verifies one on every request) and the gateway → service identity key. Random per run, never written down.
   */
  private readonly auth = {
    jwtSecret: randomBytes(48).toString('base64'),
    identitySecret: randomBytes(48).toString('base64'),
    issuer: 'eshop-bench',
    audience: 'eshop-api',
  };

  /** Logs, profiles and (for smoke runs) results of this run: <workRoot>/<runId>. */
  readonly workDir: string;

  /** More environment for the services started from now on (e.g. the OTEL_* variables of a tracing run). */
  extraEnv: (kind: ServiceKind, name: string) => Record<string, string> = () => ({});

  constructor(
    readonly infra: Infra,
    workRoot: string,
    private readonly logLevel: string,
    private readonly log: (message: string) => void,
  ) {
    this.runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    this.workDir = path.join(workRoot, this.runId);
    this.productDb = `bench_${this.runId}_product`;
    this.orderDb = `bench_${this.runId}_order`;
    this.ceilingDb = `bench_${this.runId}_ceiling`;
    const t = `bench-${this.runId}`;
    this.topics = { product: `${t}-product-events`, order: `${t}-order-events`, dlq: `${t}-order-events.dlq`, perf: `${t}-perf` };
    this.consumerGroup = `${t}-order-consumers`;
    mkdirSync(path.join(this.workDir, 'logs'), { recursive: true });
    mkdirSync(path.join(this.workDir, 'profiles'), { recursive: true });
    for (const [name, file] of [
      ['mariadb', '.local/mariadb/default/mariadbd.pid'],
      ['kafka', '.local/kafka/default/kafka.pid'],
    ] as const) {
      const pid = Number(readOptional(path.join(REPO_ROOT, file))?.trim());
      if (pid > 0 && existsSync(`/proc/${pid}`)) this.infraPids.push({ name, pid });
    }
  }

  get profileDir(): string {
    return path.join(this.workDir, 'profiles');
  }

  /** Databases (migrated) and topics; nothing runs yet. */
  async prepare(): Promise<void> {
    const conn = await mysql.createConnection(this.infra.db);
    try {
      for (const db of [this.productDb, this.orderDb, this.ceilingDb]) {
        await conn.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
        this.createdDbs.push(db);
      }
    } finally {
      await conn.end();
    }
    const admin = kafkaClient(this.infra, 'eshop-bench-admin').admin();
    await admin.connect();
    try {
      const topics = Object.values(this.topics);
      await admin.createTopics({
        topics: topics.map((topic) => ({ topic, numPartitions: this.infra.partitions, replicationFactor: 1 })),
        waitForLeaders: true,
      });
      this.createdTopics = topics;
    } finally {
      await admin.disconnect();
    }
    await this.migrate('product', 'services/product/dist/migrate.js', { ...this.dbEnv('PRODUCT', this.productDb) });
    await this.migrate('order', 'services/order/dist/migrate.js', { ...this.dbEnv('ORDER', this.orderDb) });
  }

  /** A bearer token this run's gateway accepts (valid for the longest run). */
  token(sub: string, roles: Role[]): Promise<string> {
    const { jwtSecret: secret, issuer, audience } = this.auth;
    return mintAccessToken({ secret, issuer, audience, sub, roles, ttlSeconds: 6 * 3600 });
  }

  /** Process pids for the CPU sampler: every running service, MariaDB, Kafka and this process (the load generator). */
  watched(): Watched[] {
    return [
      ...[...this.services.values()].map((s) => ({ name: s.kind === 'consumer' ? 'consumers' : s.kind, pid: s.child.pid! })),
      ...this.infraPids,
      { name: 'load generator', pid: process.pid },
    ];
  }

  running(kind?: ServiceKind): ServiceProcess[] {
    return [...this.services.values()].filter((s) => kind === undefined || s.kind === kind);
  }

  async start(kind: ServiceKind, name: string = kind): Promise<ServiceProcess> {
    const port = await freePort();
    const env: Record<string, string> = {
      ...this.baseEnv(),
      BENCH_PROFILE_DIR: this.profileDir,
      BENCH_PROFILE_NAME: name,
    };
    switch (kind) {
      case 'product':
        Object.assign(env, this.dbEnv('PRODUCT', this.productDb), {
          GATEWAY_IDENTITY_SECRET: this.auth.identitySecret,
          PRODUCT_SERVICE_PORT: String(port),
          KAFKA_PRODUCT_TOPIC: this.topics.product,
          KAFKA_CLIENT_ID: `bench-${name}`,
        });
        this.port.product = port;
        break;
      case 'order':
        Object.assign(env, this.dbEnv('ORDER', this.orderDb), {
          GATEWAY_IDENTITY_SECRET: this.auth.identitySecret,
          ORDER_SERVICE_PORT: String(port),
          KAFKA_ORDER_TOPIC: this.topics.order,
          PRODUCT_SERVICE_URL: `http://127.0.0.1:${this.port.product}`,
          KAFKA_CLIENT_ID: `bench-${name}`,
        });
        this.port.order = port;
        break;
      case 'consumer':
        Object.assign(env, this.dbEnv('ORDER', this.orderDb), {
          ORDER_CONSUMER_PORT: String(port),
          KAFKA_ORDER_TOPIC: this.topics.order,
          ORDER_DLQ_TOPIC: this.topics.dlq,
          ORDER_CONSUMER_GROUP: this.consumerGroup,
          PRODUCT_SERVICE_URL: `http://127.0.0.1:${this.port.product}`,
          KAFKA_CLIENT_ID: `bench-${name}`,
        });
        break;
      case 'gateway':
        Object.assign(env, {
          API_GATEWAY_PORT: String(port),
          PRODUCT_SERVICE_URL: `http://127.0.0.1:${this.port.product}`,
          ORDER_SERVICE_URL: `http://127.0.0.1:${this.port.order}`,
          AUTH_JWT_SECRET: this.auth.jwtSecret,
          AUTH_JWT_ISSUER: this.auth.issuer,
          AUTH_JWT_AUDIENCE: this.auth.audience,
          GATEWAY_IDENTITY_SECRET: this.auth.identitySecret,
          // One load generator on one address, and a few users per window: the limits would measure themselves.
          ...BENCH_RATE_LIMITS,
        });
        break;
    }
    Object.assign(env, this.extraEnv(kind, name));
    const entry = path.join(REPO_ROOT, ENTRY[kind]);
    if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
    const logFile = path.join(this.workDir, 'logs', `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(
      process.execPath,
      // The profile hook exists once compiled (dist/); run from TypeScript (jest) the services start without it.
      ['--disable-warning=TimeoutNegativeWarning', ...(existsSync(PROFILE_HOOK) ? ['--require', PROFILE_HOOK] : []), entry],
      { cwd: path.dirname(path.dirname(entry)), env, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const service: ServiceProcess = { name, kind, port, url: `http://127.0.0.1:${port}`, child, exited };
    this.services.set(name, service);
    await this.waitReady(service, logFile);
    return service;
  }

  private async waitReady(service: ServiceProcess, logFile: string): Promise<void> {
    let gone = false;
    void service.exited.then(() => (gone = true));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (gone) {
        this.services.delete(service.name);
        throw new Error(`${service.name} exited during start-up; see ${logFile}`);
      }
      try {
        const res = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${service.name} not ready within 60 s; see ${logFile}`);
  }

  /** SIGTERM (the services drain and commit), SIGKILL after 30 s. */
  async stop(...services: ServiceProcess[]): Promise<void> {
    await Promise.all(
      services.map(async (s) => {
        if (!this.services.has(s.name)) return;
        s.child.kill('SIGTERM');
        const timer = setTimeout(() => s.child.kill('SIGKILL'), 30_000);
        await s.exited;
        clearTimeout(timer);
        this.services.delete(s.name);
      }),
    );
  }

  /** The product and order services the next order, consumer or gateway process will call. */
  get upstreams(): { product: number; order: number } {
    return { ...this.port };
  }

  set upstreams(ports: { product: number; order: number }) {
    this.port = { ...ports };
  }

  /** The log file of a service this stack started (JSON lines). */
  logFile(name: string): string {
    return path.join(this.workDir, 'logs', `${name}.log`);
  }

  /** Sends a signal to running services (the profile hook toggles CPU profiling on SIGUSR2). */
  signal(services: ServiceProcess[], signal: NodeJS.Signals): void {
    for (const s of services) s.child.kill(signal);
  }

  /** Stops every service callers first, then drops the run's databases, topics and consumer group. */
  async cleanup(keep: boolean): Promise<void> {
    await this.stop(...this.running('gateway'));
    await this.stop(...this.running('order'), ...this.running('consumer'));
    await this.stop(...this.running());
    if (keep) {
      this.log(`kept databases ${this.createdDbs.join(', ')}, topics ${this.createdTopics.join(', ')}, group ${this.consumerGroup}`);
      return;
    }
    try {
      const conn = await mysql.createConnection(this.infra.db);
      try {
        for (const db of this.createdDbs) await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
      } finally {
        await conn.end();
      }
    } catch (err) {
      this.log(`could not drop databases ${this.createdDbs.join(', ')}: ${(err as Error).message}`);
    }
    const admin = kafkaClient(this.infra, 'eshop-bench-admin').admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.consumerGroup]).catch(() => {});
      if (this.createdTopics.length > 0) await admin.deleteTopics({ topics: this.createdTopics });
    } catch (err) {
      this.log(`could not delete topics ${this.createdTopics.join(', ')}: ${(err as Error).message}`);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Last resort on an abrupt exit: no service process of this run outlives it. */
  killAll(): void {
    for (const s of this.services.values()) s.child.kill('SIGKILL');
  }

  private baseEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: this.logLevel,
      KAFKA_BROKERS: this.infra.kafkaBrokers.join(','),
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      SHUTDOWN_TIMEOUT_MS: '15000',
    };
  }

  private dbEnv(prefix: 'PRODUCT' | 'ORDER', database: string): Record<string, string> {
    return {
      [`${prefix}_DB_HOST`]: this.infra.db.host,
      [`${prefix}_DB_PORT`]: String(this.infra.db.port),
      [`${prefix}_DB_USER`]: this.infra.db.user,
      [`${prefix}_DB_PASSWORD`]: this.infra.db.password,
      [`${prefix}_DB_NAME`]: database,
    };
  }

  private async migrate(name: string, entry: string, env: Record<string, string>): Promise<void> {
    const file = path.join(REPO_ROOT, entry);
    if (!existsSync(file)) throw new Error(`${file} is missing: build first (npm run build)`);
    const logFile = path.join(this.workDir, 'logs', `${name}-migrate.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [file], { cwd: path.dirname(path.dirname(file)), env: { ...this.baseEnv(), ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`migrations of ${name} failed (exit ${code}); see ${logFile}`);
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
