/**
 * `npm run bench`: the local benchmark of issue 7. Starts its own copy of the services against the
 * local MariaDB and Kafka (fresh databases and topics), measures reference ceilings, catalogue reads
 * (gateway vs direct), sync vs async order intake at increasing concurrency and the consumer pipeline,
 * then prints tables and writes docs/performance/{local-benchmark.md, results/<date>-local.json, plots/}.
 * See docs/performance/README.md.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { catalogReads } from './catalog-reads';
import { bareHttpCeiling, kafkaProducerCeiling, kafkaVersion, mariadbCeilings } from './ceilings';
import { consumerDrain } from './consumer-drain';
import { sleep, type BenchContext } from './context';
import { activeTestRuns, CpuSampler, type Watched } from './cpu';
import { round, runLoad, type LoadSpec } from './load';
import { describeMachine } from './machine';
import { parseOptions, type BenchOptions } from './options';
import { orderIntake } from './order-intake';
import { summarizeProfile, type ProfileSummary } from './profiles';
import { writeOutputs } from './outputs';
import { tracingOverhead } from './tracing-overhead';
import { consoleSummary } from './report';
import { evaluateTargets, type BenchResults, type Invariants } from './results';
import { BENCH_RATE_LIMITS, BenchStack, checkInfra, InfraUnavailableError, infraSettings, kafkaClient, REPO_ROOT, type ServiceProcess } from './stack';

const started = performance.now();
const elapsed = () => {
  const s = Math.floor((performance.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const log = (message: string) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    console.error(`bench: this is Node ${process.version}; run it with \`npm run bench\`, which uses Node 24 from the \`node\` devDependency`);
    return 2;
  }
  const startedAt = new Date();
  const quiet = await waitForQuiet(options.waitQuietMinutes);

  const infra = infraSettings();
  let mariadbVersion: string;
  try {
    ({ mariadbVersion } = await checkInfra(infra));
  } catch (err) {
    if (err instanceof InfraUnavailableError) {
      console.error(`bench: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const machine = describeMachine({ kafka: kafkaVersion(), mariadb: mariadbVersion });

  const stack = new BenchStack(infra, path.join(REPO_ROOT, '.local', 'bench'), options.serviceLogLevel, log);
  log(`run ${stack.runId}: logs and profiles in ${path.relative(REPO_ROOT, stack.workDir)}`);
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= stack.cleanup(options.keep).then(() => {
      log('stopped the services; dropped the databases and topics of this run');
    }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  process.once('exit', () => stack.killAll());
  const deadline = setTimeout(() => {
    log(`the run took longer than ${options.maxMinutes} min: aborting`);
    void cleanup().finally(() => process.exit(3));
  }, options.maxMinutes * 60_000);
  deadline.unref();

  let orderDb: mysql.Pool | undefined;
  let partial: Omit<BenchResults, 'targets' | 'finishedAt' | 'durationSeconds'>;
  try {
    log('fresh databases and topics, migrations');
    await stack.prepare();
    const product = await stack.start('product');
    await stack.start('order');
    const gateway = await stack.start('gateway');
    log(
      `gateway: authentication on (every order request carries a bearer token of this run's local issuer, verified by the gateway), ` +
        `rate limits off (${Object.entries(BENCH_RATE_LIMITS).map(([k, v]) => `${k}=${v}`).join(', ')})`,
    );
    const admin = { authorization: `Bearer ${await stack.token('bench-admin', ['admin'])}` };
    const productIds = await seedCatalog(gateway.url, admin, options);
    log(`started product, order and gateway; ${productIds.length} products with ${options.stockPerProduct} units each`);

    const extra: Watched[] = [];
    const sampler = new CpuSampler(() => [...stack.watched(), ...extra]);
    orderDb = mysql.createPool({ ...infra.db, database: stack.orderDb, connectionLimit: 4 });
    const tokens = new Map<string, Promise<string>>();
    const customer = async (user: string) => {
      if (!tokens.has(user)) tokens.set(user, stack.token(user, ['customer']));
      return { authorization: `Bearer ${await tokens.get(user)!}` };
    };
    const ctx: BenchContext = { stack, options, sampler, gateway: gateway.url, product: product.url, productIds, customer, orderDb, log };

    log('reference ceilings: bare node:http');
    const bareHttp = await bareHttpCeiling(options.ceilingSeconds, options.warmupSeconds, sampler, (pid) => {
      extra.length = 0;
      if (pid) extra.push({ name: 'bare-http', pid });
    });
    log(`  ${bareHttp.okPerSecond} req/s`);
    log('reference ceilings: MariaDB single-row INSERT and order+item+outbox transaction, 32 connections');
    const db = await mariadbCeilings(infra, stack.ceilingDb, stack.orderDb, options.ceilingSeconds, sampler);
    log(`  INSERT ${db.insert.perSecond}/s, transaction ${db.transaction.perSecond}/s`);
    log(`reference ceilings: Kafka ProducerPerformance, ${options.kafkaPerfRecords} records`);
    const kafkaProducer = await kafkaProducerCeiling(infra, stack.topics.perf, options.kafkaPerfRecords, options.kafkaPerfRecordSize);
    log(`  ${kafkaProducer.recordsPerSecond} records/s`);

    log('catalogue reads: gateway vs direct');
    const catalog = await catalogReads(ctx);

    log('order intake: sync vs async through the gateway (1 consumer running)');
    await stack.start('consumer', 'consumer-1');
    const intake = await orderIntake(ctx);

    log(`consumer pipeline: backlogs of ${options.backlogOrders} orders drained by ${options.consumerCounts.join(', ')} consumer(s)`);
    const drain = await consumerDrain(ctx);

    log('tracing overhead: sync orders through the gateway, tracing off vs on (default ratio 0.1, and 1), exporting to the local Jaeger');
    const tracing = await tracingOverhead(ctx);
    if (tracing.skipped) log(`  skipped: ${tracing.skipped}`);

    const invariants = await checkInvariants(ctx, options);
    log(`stock ${invariants.consistent ? 'consistent' : 'INCONSISTENT'}; ${invariants.deadLetters} dead letters`);

    const profiles = options.profileSeconds > 0 ? await profileWindows(ctx) : [];

    partial = {
      schema: 1,
      runId: stack.runId,
      startedAt: startedAt.toISOString(),
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      options,
      machine,
      quiet,
      setup: {
        products: productIds.length,
        stockPerProduct: options.stockPerProduct,
        serviceLogLevel: options.serviceLogLevel,
        partitions: infra.partitions,
        databases: [stack.productDb, stack.orderDb, stack.ceilingDb],
        topics: Object.values(stack.topics),
      },
      ceilings: { bareHttp, kafkaProducer, mariadbInsert: db.insert, mariadbOrderTransaction: db.transaction },
      catalog,
      intake,
      drain,
      tracing,
      invariants,
      profiles,
    };
  } finally {
    await orderDb?.end().catch(() => {});
    await cleanup();
  }

  const finishedAt = new Date();
  const withoutTargets = { ...partial, finishedAt: finishedAt.toISOString(), durationSeconds: round((performance.now() - started) / 1000, 0) };
  const results: BenchResults = { ...withoutTargets, targets: evaluateTargets(withoutTargets) };
  for (const file of writeOutputs(results, stack.workDir)) log(`wrote ${path.relative(REPO_ROOT, file)}`);
  process.stdout.write(`\n${consoleSummary(results)}`);
  return 0;
}

/** Waits (bounded) until no jest / .ci/run / platform.sh test runs, so the figures are not someone else's noise. */
async function waitForQuiet(minutes: number): Promise<BenchResults['quiet']> {
  const begin = performance.now();
  for (;;) {
    const active = activeTestRuns();
    const waited = (performance.now() - begin) / 1000;
    if (active.length === 0 || minutes <= 0 || waited >= minutes * 60) {
      if (active.length > 0) log(`${active.length} test process(es) still running; measuring anyway (figures will be noisier)`);
      return { waitedSeconds: round(waited, 0), gaveUp: active.length > 0 && minutes > 0, activeAtStart: active.map((a) => a.command) };
    }
    log(`waiting for ${active.length} test process(es) to finish (${Math.round(waited)} s of at most ${minutes * 60} s): ${active[0]!.command}`);
    await sleep(30_000);
  }
}

/** The benchmark catalogue, created directly at the product service; returns the product ids. */
/** The catalogue, created through the gateway as an admin (catalog writes need the admin role). */
async function seedCatalog(gatewayOrigin: string, admin: Record<string, string>, options: BenchOptions): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < options.products; start += 20) {
    const batch = Array.from({ length: Math.min(20, options.products - start) }, (_, i) => start + i + 1);
    const created = await Promise.all(
      batch.map(async (n) => {
        const res = await fetch(`${gatewayOrigin}/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...admin },
          body: JSON.stringify({ name: `Bench product ${n}`, description: 'Created by npm run bench', price: `${(n % 90) + 9}.99`, stock: options.stockPerProduct }),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.status !== 201) throw new Error(`POST /products answered ${res.status}: ${await res.text()}`);
        return ((await res.json()) as { id: number }).id;
      }),
    );
    ids.push(...created);
  }
  return ids;
}

async function checkInvariants(ctx: BenchContext, options: BenchOptions): Promise<Invariants> {
  const { stack } = ctx;
  const conn = await mysql.createConnection(stack.infra.db);
  try {
    const [p] = await conn.query(`SELECT COALESCE(SUM(stock), 0) AS remaining, COALESCE(MIN(stock), 0) AS lowest, COUNT(*) AS n FROM \`${stack.productDb}\`.products`);
    const prow = (p as { remaining: string; lowest: string; n: string }[])[0]!;
    const [u] = await conn.query(
      `SELECT COALESCE(SUM(i.quantity), 0) AS units FROM \`${stack.orderDb}\`.order_items i JOIN \`${stack.orderDb}\`.orders o ON o.id = i.order_id WHERE o.status = 'confirmed'`,
    );
    const [s] = await conn.query(`SELECT mode, status, COUNT(*) AS n FROM \`${stack.orderDb}\`.orders GROUP BY mode, status`);
    const count = (mode: string, status?: string) =>
      (s as { mode: string; status: string; n: string }[]).filter((r) => r.mode === mode && (!status || r.status === status)).reduce((a, r) => a + Number(r.n), 0);
    const initialStock = Number(prow.n) * options.stockPerProduct;
    const remainingStock = Number(prow.remaining);
    const confirmedUnits = Number((u as { units: string }[])[0]!.units);
    const admin = kafkaClient(stack.infra, 'eshop-bench-admin').admin();
    let deadLetters = 0;
    try {
      await admin.connect();
      deadLetters = (await admin.fetchTopicOffsets(stack.topics.dlq)).reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    return {
      initialStock,
      remainingStock,
      confirmedUnits,
      consistent: initialStock === remainingStock + confirmedUnits,
      lowestProductStock: Number(prow.lowest),
      orders: { sync: count('sync'), asyncConfirmed: count('async', 'confirmed'), asyncRejected: count('async', 'rejected'), asyncPending: count('async', 'pending') },
      deadLetters,
    };
  } finally {
    await conn.end();
  }
}

/** Profiles each service process during short windows at 64 connections (after the measurements). */
async function profileWindows(ctx: BenchContext): Promise<ProfileSummary[]> {
  ctx.log('CPU profiles (not part of the figures)');
  const { stack, options } = ctx;
  const taken = new Map<string, number>();
  const summaries: ProfileSummary[] = [];
  const one = (kind: 'product' | 'order' | 'gateway') => stack.running(kind)[0]!;
  const profile = async (window: string, services: ServiceProcess[], spec: LoadSpec) => {
    stack.signal(services, 'SIGUSR2');
    await sleep(300);
    await runLoad(spec);
    stack.signal(services, 'SIGUSR2');
    for (const s of services) {
      const n = (taken.get(s.name) ?? 0) + 1;
      taken.set(s.name, n);
      const file = path.join(stack.profileDir, `${s.name}-${n}.cpuprofile`);
      for (let i = 0; i < 75 && !existsSync(file); i++) await sleep(200);
      const summary = summarizeProfile(file, s.kind === 'consumer' ? 'consumer' : s.kind, window);
      if (summary) summaries.push(summary);
      else log(`  no profile from ${s.name} (${file})`);
    }
  };
  const body = (user: string) => () => ({
    body: `{"user_id":"${user}","items":[{"product_id":${ctx.productIds[Math.floor(Math.random() * ctx.productIds.length)]},"quantity":1}]}`,
  });
  const base = { origin: ctx.gateway, connections: 64, seconds: options.profileSeconds };
  await profile('GET /products/:id via gateway', [one('gateway'), one('product')], {
    ...base,
    title: 'profile catalogue',
    request: { method: 'GET', path: '/products/1', vary: () => ({ path: `/products/${ctx.productIds[Math.floor(Math.random() * ctx.productIds.length)]}` }) },
  });
  await profile('sync POST /orders', [one('gateway'), one('order'), one('product')], {
    ...base,
    title: 'profile sync',
    request: { method: 'POST', path: '/orders', headers: await ctx.customer('profile-sync'), vary: body('profile-sync') },
  });
  const consumer = await stack.start('consumer', 'consumer-profile');
  await profile('async POST /orders/async (1 consumer)', [one('gateway'), one('order'), one('product'), consumer], {
    ...base,
    title: 'profile async',
    request: { method: 'POST', path: '/orders/async', headers: await ctx.customer('profile-async'), vary: body('profile-async') },
  });
  return summaries;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
