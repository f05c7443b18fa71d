import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { ADMIN, createTopic, deleteTopics, eventually, kafkaBrokers, type TestDatabase } from '@eshop/test-support';
import { ApiClient } from '@eshop/test-support';
import { aProduct } from './support/factories';
import { freePort } from '@eshop/test-support';
import { migratedDatabase, serviceEnv } from './support/product-service';

jest.setTimeout(120_000);

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');
const mainJs = path.join(repoRoot, 'services', 'product', 'dist', 'main.js');

/** Resolves with the exit code, or rejects if the process is still running after `ms`. */
function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function reachable(url: string): Promise<number | 'closed'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'closed';
  }
}

describe('graceful shutdown of the built service (dist/main.js)', () => {
  let db: TestDatabase;
  let topic: string;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    // The test runs what the local scripts and the container run: the compiled service.
    await promisify(execFile)(tsc, ['-b', 'services/product'], { cwd: repoRoot, timeout: 120_000 });
    db = await migratedDatabase('shutdown');
    topic = await createTopic('shutdown-events', 1);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db?.drop();
    if (topic) await deleteTopics([topic]);
  });

  it('on SIGTERM turns unready, finishes the in-flight PUT with 200, and exits 0', async () => {
    const port = await freePort();
    const env = serviceEnv(db, topic, kafkaBrokers(), {
      PRODUCT_SERVICE_PORT: String(port),
      SHUTDOWN_DELAY_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'info',
    });
    child = spawn(node, [mainJs], { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const baseUrl = `http://127.0.0.1:${port}`;
    const api = new ApiClient(baseUrl, { as: ADMIN });
    await eventually(async () => {
      if ((await reachable(`${baseUrl}/readyz`)) !== 200) throw new Error(`not ready yet:\n${output}`);
    }, 30_000);
    const product = await api.post('/products', aProduct({ stock: 5 }));
    expect(product.status).toBe(201);

    // A row lock held by another transaction keeps the PUT waiting inside the service.
    const { host, port: dbPort, user, password, database } = db.options;
    const locker = await mysql.createConnection({ host, port: dbPort, user, password, database });
    await locker.beginTransaction();
    await locker.query('SELECT id FROM products WHERE id = ? FOR UPDATE', [product.body.id]);
    const inFlight = api.put(`/products/${product.body.id}`, { stock: 42 });
    await eventually(async () => {
      const waiting = await db.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'UPDATE products%'`,
        [db.options.database],
      );
      if (Number(waiting[0]?.n) !== 1) throw new Error('the PUT is not waiting for the row lock yet');
    });

    child.kill('SIGTERM');
    // SHUTDOWN_DELAY_MS keeps the listener open for a second with /readyz failing, as in Kubernetes.
    const readiness = await eventually(async () => {
      const status = await reachable(`${baseUrl}/readyz`);
      if (status === 200) throw new Error('readyz still answers 200');
      return status;
    }, 5000, 50);
    expect(readiness).toBe(503);
    // After SHUTDOWN_DELAY_MS the listener closes while the PUT is still waiting.
    await eventually(async () => {
      if ((await reachable(`${baseUrl}/healthz`)) !== 'closed') throw new Error('still accepting connections');
    }, 10_000, 100);
    expect(child.exitCode).toBeNull();
    await locker.rollback();
    await locker.end();

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: product.body.id, stock: 42, version: 2 });
    expect(await exitWithin(child, 15_000)).toBe(0);
    expect(output).toContain('stopped cleanly');
    const [row] = await db.query<{ stock: number }>('SELECT stock FROM products WHERE id = ?', [product.body.id]);
    expect(Number(row?.stock)).toBe(42);
  });
});
