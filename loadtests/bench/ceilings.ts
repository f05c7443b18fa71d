import { fork, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { CpuSampler, CpuShare } from './cpu';
import { round, runLoad, type LoadResult } from './load';
import { REPO_ROOT, type Infra } from './stack';
import { uuidv7 } from './uuid';

/** Reference ceilings of this machine, measured in the same run as the services. */
export interface Ceilings {
  bareHttp: LoadResult & { cpu: CpuShare };
  kafkaProducer: KafkaPerfResult;
  mariadbInsert: DbRateResult;
  mariadbOrderTransaction: DbRateResult;
}

export interface KafkaPerfResult {
  readonly records: number;
  readonly recordSize: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly avgLatencyMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly command: string;
  /** The tool's summary line, verbatim. */
  readonly summary: string;
}

export interface DbRateResult {
  readonly what: string;
  readonly connections: number;
  readonly seconds: number;
  readonly operations: number;
  readonly perSecond: number;
  readonly errors: number;
  readonly cpu: CpuShare;
}

/** A bare node:http server in its own process, loaded like the services (autocannon, 64 connections). */
export async function bareHttpCeiling(
  seconds: number,
  warmupSeconds: number,
  sampler: CpuSampler,
  onServer: (pid: number | undefined) => void,
): Promise<LoadResult & { cpu: CpuShare }> {
  const child = fork(path.join(__dirname, 'bare-http-server.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bare HTTP server exited (${code})`)));
      child.once('message', (m) => resolve((m as { port: number }).port));
    });
    onServer(child.pid);
    const spec = { title: 'bare node:http GET', origin: `http://127.0.0.1:${port}`, connections: 64, seconds, request: { method: 'GET' as const, path: '/products/42' } };
    if (warmupSeconds > 0) await runLoad({ ...spec, seconds: warmupSeconds });
    const begin = sampler.begin();
    const result = await runLoad(spec);
    return { ...result, cpu: sampler.end(begin) };
  } finally {
    onServer(undefined);
    child.disconnect();
    child.kill('SIGTERM');
  }
}

function kafkaLibs(): string {
  const cache = path.join(REPO_ROOT, '.local', 'cache');
  const dirs = existsSync(cache) ? readdirSync(cache).filter((d) => /^kafka-\d/.test(d)).sort() : [];
  const libs = dirs.length > 0 ? path.join(cache, dirs[dirs.length - 1]!, 'libs') : '';
  if (!libs || !existsSync(libs)) throw new Error(`Kafka jars not found under ${cache}: run ./local/platform.sh deps`);
  return libs;
}

/** The Kafka version of the jars local/kafka.sh runs (from kafka-clients-X.jar). */
export function kafkaVersion(): string {
  try {
    const jar = readdirSync(kafkaLibs()).find((f) => /^kafka-clients-.*\.jar$/.test(f));
    return jar?.replace(/^kafka-clients-(.*)\.jar$/, '$1') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance, the class behind
 * kafka-producer-perf-test.sh): `records` records of `recordSize` bytes, unthrottled, acks=all,
 * otherwise the Java client's defaults. Bounded by the record count and a 90 s kill timer.
 */
export async function kafkaProducerCeiling(infra: Infra, topic: string, records: number, recordSize: number): Promise<KafkaPerfResult> {
  const libs = kafkaLibs();
  const args = [
    '-Xms128m',
    '-Xmx256m',
    `-Dlog4j2.configurationFile=${path.join(REPO_ROOT, 'local', 'kafka', 'tools-log4j2.yaml')}`,
    '-cp',
    `${libs}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--bootstrap-server',
    infra.kafkaBrokers.join(','),
    '--command-property',
    'acks=all',
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  // Last line: "500000 records sent, 123456.7 records/sec (30.14 MB/sec), 150.23 ms avg latency, 400.00 ms max
  // latency, 140 ms 50th, 300 ms 95th, 350 ms 99th, 390 ms 99.9th."
  const summary = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => /records sent/.test(l) && /50th/.test(l));
  if (code !== 0 || !summary) throw new Error(`ProducerPerformance failed (exit ${code}): ${(err || out).slice(-800)}`);
  const num = (re: RegExp) => Number(re.exec(summary)?.[1] ?? NaN);
  return {
    records,
    recordSize,
    recordsPerSecond: round(num(/([\d.]+) records\/sec/), 0),
    mbPerSecond: round(num(/\(([\d.]+) MB\/sec\)/), 2),
    avgLatencyMs: num(/([\d.]+) ms avg latency/),
    p50Ms: num(/(\d+) ms 50th/),
    p95Ms: num(/(\d+) ms 95th/),
    p99Ms: num(/(\d+) ms 99th/),
    command: `java -cp '.local/cache/kafka-*/libs/*' org.apache.kafka.tools.ProducerPerformance --topic <fresh topic, ${infra.partitions} partitions> --num-records ${records} --record-size ${recordSize} --throughput -1 --command-property acks=all`,
    summary: summary.trim(),
  };
}

/** An order.placed envelope of the size the services write (about 330 bytes). */
function placedPayload(orderId: string): string {
  return JSON.stringify({
    id: uuidv7(),
    type: 'order.placed',
    version: 1,
    occurredAt: new Date().toISOString(),
    data: { order_id: orderId, user_id: 'ceiling', mode: 'async', items: [{ product_id: 17, quantity: 1 }] },
  });
}

const sqlNow = () => new Date().toISOString().slice(0, 23).replace('T', ' ');

/**
 * MariaDB ceilings from Node (mysql2, the services' driver) at `connections` connections, on copies
 * of the real order tables (same columns, indexes and foreign key, taken with SHOW CREATE TABLE):
 * single-row INSERTs into `orders`, and the async-intake transaction — BEGIN; INSERT orders;
 * INSERT order_items; INSERT outbox_events; COMMIT — which is all POST /orders/async writes.
 */
export async function mariadbCeilings(
  infra: Infra,
  ceilingDb: string,
  orderDb: string,
  seconds: number,
  sampler: CpuSampler,
  connections = 32,
): Promise<{ insert: DbRateResult; transaction: DbRateResult }> {
  const pool = mysql.createPool({ ...infra.db, database: ceilingDb, connectionLimit: connections });
  try {
    for (const table of ['orders', 'order_items', 'outbox_events']) {
      const [rows] = await pool.query(`SHOW CREATE TABLE \`${orderDb}\`.\`${table}\``);
      const ddl = (rows as Record<string, string>[])[0]!['Create Table']!;
      await pool.query(ddl);
    }
    const insertOrder = (conn: mysql.PoolConnection, id: string) =>
      conn.query(
        'INSERT INTO orders (id, user_id, status, mode, reason, total, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [id, 'ceiling', 'pending', 'async', null, null, 1, sqlNow(), sqlNow()],
      );
    const insert = await rate('single-row INSERT into orders', pool, connections, seconds, sampler, async (conn) => {
      await insertOrder(conn, uuidv7());
    });
    const transaction = await rate('transaction: orders + order_items + outbox_events rows', pool, connections, seconds, sampler, async (conn) => {
      const id = uuidv7();
      await conn.query('BEGIN');
      try {
        await insertOrder(conn, id);
        await conn.query(
          'INSERT INTO order_items (order_id, position, product_id, quantity, name, unit_price, line_total) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [id, 0, 17, 1, null, null, null],
        );
        await conn.query('INSERT INTO outbox_events (event_id, topic, message_key, event_type, payload, headers) VALUES (?, ?, ?, ?, ?, ?)', [
          uuidv7(),
          'order-events',
          id,
          'order.placed',
          placedPayload(id),
          null,
        ]);
        await conn.query('COMMIT');
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    return { insert, transaction };
  } finally {
    await pool.end();
  }
}

async function rate(
  what: string,
  pool: mysql.Pool,
  connections: number,
  seconds: number,
  sampler: CpuSampler,
  operation: (conn: mysql.PoolConnection) => Promise<void>,
): Promise<DbRateResult> {
  const conns = await Promise.all(Array.from({ length: connections }, () => pool.getConnection()));
  try {
    // Warm-up: one second, not counted.
    await loop(conns, operation, 1);
    const begin = sampler.begin();
    const started = performance.now();
    const { operations, errors } = await loop(conns, operation, seconds);
    const elapsed = (performance.now() - started) / 1000;
    return { what, connections, seconds: round(elapsed, 2), operations, perSecond: round(operations / elapsed, 0), errors, cpu: sampler.end(begin) };
  } finally {
    for (const c of conns) c.release();
  }
}

async function loop(
  conns: mysql.PoolConnection[],
  operation: (conn: mysql.PoolConnection) => Promise<void>,
  seconds: number,
): Promise<{ operations: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  let operations = 0;
  let errors = 0;
  await Promise.all(
    conns.map(async (conn) => {
      while (performance.now() < deadline) {
        try {
          await operation(conn);
          operations++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { operations, errors };
}
