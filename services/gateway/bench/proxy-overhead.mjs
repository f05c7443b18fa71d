// Proxy overhead on loopback: a trivial Express 5 upstream served directly, through a bare
// http-proxy-middleware (keep-alive http.Agent) proxy, through a bare undici Pool proxy, and through
// the real gateway (dist/, build first). Each server runs in its own process; autocannon runs here.
// Reports req/s, p99 latency and the proxy process's CPU time per request, as the median of
// BENCH_ROUNDS interleaved rounds (shared machines are noisy; interleaving spreads the noise).
//
//   npx tsc -b services/gateway && npm run bench:proxy -w @eshop/gateway
//   BENCH_SECONDS=5 BENCH_CONNECTIONS=64 BENCH_ROUNDS=3 node services/gateway/bench/proxy-overhead.mjs
//   BENCH_UPSTREAM_WORK_US=300 …  (the upstream burns that much CPU per request, like a service doing real work)
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const UPSTREAM_WORK_US = Number(process.env.BENCH_UPSTREAM_WORK_US ?? 0);
const PRODUCT = {
  id: 42,
  name: 'Espresso machine',
  description: 'Dual boiler, rotary pump',
  price: '1299.00',
  stock: 17,
  version: 3,
  created_at: '2026-11-01T10:00:00.000Z',
  updated_at: '2026-11-02T11:30:00.000Z',
};

// ---- child roles -------------------------------------------------------------------------------

/** Busy-waits, standing in for the CPU a real handler spends (validation, SQL driver, serialisation). */
function work() {
  if (UPSTREAM_WORK_US <= 0) return;
  const until = process.hrtime.bigint() + BigInt(UPSTREAM_WORK_US) * 1000n;
  while (process.hrtime.bigint() < until);
}

async function upstream() {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, _res, next) => {
    work();
    next();
  });
  app.use(express.json());
  app.get('/products/:id', (req, res) => res.setHeader('ETag', '"3"').json({ ...PRODUCT, id: Number(req.params.id) }));
  app.post('/products', (req, res) => res.status(201).location('/products/43').json({ ...PRODUCT, ...req.body, id: 43 }));
  app.get('/readyz', (_req, res) => res.json({ status: 'ready' }));
  return listen(app);
}

async function hpmProxy(target) {
  const express = require('express');
  const { createProxyMiddleware } = await import('http-proxy-middleware');
  const app = express();
  app.disable('x-powered-by');
  app.use(
    '/products',
    createProxyMiddleware({
      target: `${target}/products`,
      agent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      xfwd: true,
    }),
  );
  return listen(app);
}

async function undiciProxy(target) {
  const express = require('express');
  const { Pool } = require('undici');
  const pool = new Pool(target, { connections: 64 });
  const app = express();
  app.disable('x-powered-by');
  app.all('/products{/*rest}', async (req, res, next) => {
    try {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      await pool.stream(
        { path: req.originalUrl, method: req.method, headers, body: req.method === 'GET' ? null : req },
        ({ statusCode, headers: h }) => {
          delete h.connection;
          delete h['keep-alive'];
          delete h['transfer-encoding'];
          res.writeHead(statusCode, h);
          return res;
        },
      );
    } catch (err) {
      if (!res.headersSent) next(err);
    }
  });
  return listen(app);
}

async function gateway(target) {
  const { startGateway, loadGatewayConfig } = require('../dist/index.js');
  const config = loadGatewayConfig({
    API_GATEWAY_PORT: '0',
    PRODUCT_SERVICE_URL: target,
    ORDER_SERVICE_URL: target,
    LOG_LEVEL: process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'silent',
  });
  const running = await startGateway(config, { host: '127.0.0.1' });
  return running.port;
}

async function listen(app) {
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

// ---- parent ------------------------------------------------------------------------------------

function start(role, target) {
  const child = fork(fileURLToPath(import.meta.url), [role, target ?? ''], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', (m) => resolve({ child, url: `http://127.0.0.1:${m.port}` }));
  });
}

function cpuMs(child) {
  child.send('cpu');
  return new Promise((resolve) => child.once('message', (m) => resolve(m.cpuMs)));
}

async function run(autocannon, name, url, proxy, request) {
  await autocannon({ url: url + request.path, ...request, connections: CONNECTIONS, duration: 1 }); // warm-up
  const before = proxy ? await cpuMs(proxy) : 0;
  const result = await autocannon({ url: url + request.path, ...request, connections: CONNECTIONS, duration: SECONDS });
  const after = proxy ? await cpuMs(proxy) : 0;
  const ok = result['2xx'];
  return {
    name,
    rps: Math.round(result.requests.average),
    p99ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    proxyCpuUsPerReq: proxy ? Math.round(((after - before) * 1000) / ok) : undefined,
  };
}

async function parent() {
  const autocannon = require('autocannon');
  const upstreamProc = await start('upstream');
  const proxies = [
    ['http-proxy-middleware (http.Agent)', await start('hpm', upstreamProc.url)],
    ['undici Pool (bare)', await start('undici', upstreamProc.url)],
    ['gateway (undici Pool + breaker + metrics)', await start('gateway', upstreamProc.url)],
  ];
  const requests = [
    { label: 'GET /products/:id', path: '/products/42', method: 'GET' },
    {
      label: 'POST /products (JSON ~150 B)',
      path: '/products',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Grinder', description: 'Conical burr', price: '249.90', stock: 5 }),
    },
  ];
  const variants = [['direct', upstreamProc], ...proxies];
  const samples = new Map(); // `${request}|${variant}` → results of each round
  for (let round = 0; round < ROUNDS; round++) {
    for (const request of requests) {
      const { label, ...options } = request;
      for (const [name, proc] of variants) {
        const result = await run(autocannon, name, proc.url, proc === upstreamProc ? undefined : proc.child, options);
        const key = `${label}|${name}`;
        samples.set(key, [...(samples.get(key) ?? []), result]);
      }
    }
  }
  const median = (values) => {
    const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
    return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
  };
  const rows = [];
  for (const { label } of requests) {
    const direct = median(samples.get(`${label}|direct`).map((r) => r.rps));
    for (const [name] of variants) {
      const results = samples.get(`${label}|${name}`);
      const rps = median(results.map((r) => r.rps));
      rows.push({
        request: label,
        name,
        rps,
        rpsPerRound: results.map((r) => r.rps).join(' / '),
        p99ms: median(results.map((r) => r.p99ms)),
        errors: results.reduce((sum, r) => sum + r.errors, 0),
        proxyCpuUsPerReq: median(results.map((r) => r.proxyCpuUsPerReq)),
        ofDirect: `${Math.round((rps / direct) * 100)} %`,
      });
    }
  }
  console.table(rows);
  console.log(
    `node ${process.version}, median of ${ROUNDS} rounds, ${SECONDS} s per run, ${CONNECTIONS} connections, ` +
      `upstream work ${UPSTREAM_WORK_US} µs/request, loopback, all processes on one machine (${os.cpus().length} cores)`,
  );
  for (const proc of [upstreamProc, ...proxies.map(([, p]) => p)]) proc.child.kill();
}

const [role, target] = process.argv.slice(2);
if (!role) {
  await parent();
} else {
  const roles = { upstream, hpm: hpmProxy, undici: undiciProxy, gateway };
  const port = await roles[role](target);
  process.on('message', (m) => {
    if (m === 'cpu') {
      const usage = process.cpuUsage();
      process.send({ cpuMs: (usage.user + usage.system) / 1000 });
    }
  });
  process.send({ port });
}
