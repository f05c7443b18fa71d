/**
 * Distributed tracing end to end, on real processes and a real back end: the built gateway, product service, order
 * API and order consumer (dist/, Node 24) export OTLP/HTTP to the local Jaeger (local/jaeger.sh, started by
 * local/platform.sh infra), over the local MariaDB and Kafka. Each request starts with a traceparent of the test's own,
 * so its trace is then read back from Jaeger's query API by id, as an engineer would (docs/tracing.md).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { BenchStack, infraSettings, type ServiceProcess } from '../../loadtests/bench/stack';
import { JaegerQuery, jaegerUrls, newTraceparent, type Trace } from './support/jaeger';

jest.setTimeout(180_000);

const { otlp, query } = jaegerUrls();
const jaeger = new JaegerQuery(query);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until Jaeger holds the trace with spans satisfying `complete` (spans arrive per process, in batches). */
async function traceOf(traceId: string, complete: (t: Trace) => boolean, timeoutMs = 30_000): Promise<Trace> {
  const deadline = Date.now() + timeoutMs;
  let last: Trace | undefined;
  while (Date.now() < deadline) {
    last = await jaeger.trace(traceId);
    if (last && complete(last)) return last;
    await sleep(250);
  }
  throw new Error(`trace ${traceId} incomplete after ${timeoutMs} ms:\n${last?.outline() ?? '(no spans at all)'}`);
}

const has = (service: string, kind: string, name?: RegExp) => (t: Trace) => t.find({ service, kind, name }).length > 0;

let stack: BenchStack;
let gateway: ServiceProcess;
let admin: string;
let customer: string;

beforeAll(async () => {
  const up = await fetch(`${query}/api/services`).catch((err: Error) => err);
  if (up instanceof Error || !up.ok) {
    throw new Error(`the local Jaeger does not answer at ${query} (${up instanceof Error ? up.message : up.status}): start it with ./local/platform.sh infra`);
  }
  stack = new BenchStack(infraSettings(), `${__dirname}/../../.local/tracing-test`, 'info', () => undefined);
  // Every trace recorded (the default samples 10 %), exported within 200 ms of a span ending.
  stack.extraEnv = (kind) => ({
    // The consumer logs each decision at debug: the log-correlation check reads those lines.
    ...(kind === 'consumer' ? { LOG_LEVEL: 'debug' } : {}),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    // What the cdk8s manifests set from the downward API (here literal: there is no pod).
    OTEL_RESOURCE_ATTRIBUTES: `k8s.pod.name=${kind}-7d9f-x2k4q,k8s.namespace.name=eshop,service.version=0.1.0`,
  });
  await stack.prepare();
  await stack.start('product');
  await stack.start('order');
  await stack.start('consumer');
  gateway = await stack.start('gateway');
  admin = await stack.token('admin', ['admin']);
  customer = await stack.token('7', ['customer']);
});

afterAll(async () => {
  await stack?.cleanup(false);
});

async function api(method: string, path: string, body: unknown, token: string, traceparent?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(traceparent ? { traceparent } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function product(stock: number): Promise<number> {
  const created = await api('POST', '/products', { name: `traced ${stock}`, description: 'tracing test', price: '2.50', stock }, admin);
  expect(created.status).toBe(201);
  return created.body.id as number;
}

describe('a sync order through the gateway', () => {
  it('is one trace: gateway → order service → product service (reservation) → MariaDB, each hop the child of the one before', async () => {
    const productId = await product(5);
    const { traceparent, traceId } = newTraceparent();
    const placed = await api('POST', '/orders', { user_id: '7', items: [{ product_id: productId, quantity: 2 }] }, customer, traceparent);
    expect(placed.status).toBe(201);
    const orderId = placed.body.id as string;

    const t = await traceOf(traceId, (t) => has('product-service', 'server')(t) && has('order-service', 'client', /INSERT|insert/)(t));
    // (order-consumer may appear too: the relay that holds the outbox lease, in either order process, publishes the
    // order's event, as a child of the transaction that wrote it.)
    expect([...t.services]).toEqual(expect.arrayContaining(['api-gateway', 'order-service', 'product-service']));

    const edge = t.one({ service: 'api-gateway', kind: 'server' });
    expect(edge.tags['http.route'] ?? edge.name).toMatch(/orders/);
    const orderServer = t.one({ service: 'order-service', kind: 'server' });
    expect(t.descends(orderServer, edge)).toBe(true);
    expect(t.parentOf(orderServer)).toMatchObject({ service: 'api-gateway', kind: 'client' });
    expect(orderServer.name).toBe('POST /orders');
    // Each span names the pod it ran in (OTEL_RESOURCE_ATTRIBUTES, set by the Kubernetes manifests).
    expect(edge.process).toMatchObject({ 'k8s.pod.name': 'gateway-7d9f-x2k4q', 'k8s.namespace.name': 'eshop', 'service.version': '0.1.0' });
    expect(orderServer.process['k8s.pod.name']).toBe('order-7d9f-x2k4q');

    // The placement span names the order; the reservation (the order service's HTTP call, the product service's
    // handler as its child, its SQL below) and the order's transaction are under it.
    const placement = t.one({ service: 'order-service', name: 'place order' });
    expect(placement.tags).toMatchObject({ 'order.id': orderId, 'order.status': 'confirmed' });
    expect(t.descends(placement, orderServer)).toBe(true);
    const productServer = t.one({ service: 'product-service', kind: 'server' });
    expect(t.parentOf(productServer)).toMatchObject({ service: 'order-service', kind: 'client' });
    expect(t.descends(productServer, placement)).toBe(true);
    const productSql = t.find({ service: 'product-service', kind: 'client', tag: ['db.system.name', 'mysql'] }).concat(t.find({ service: 'product-service', kind: 'client', tag: ['db.system', 'mysql'] }));
    expect(productSql.length).toBeGreaterThan(0);
    for (const sql of productSql) expect(t.descends(sql, productServer)).toBe(true);

    // The order's own transaction (INSERT of the order and its outbox row) under the order service's request.
    const orderSql = t.find({ service: 'order-service', kind: 'client' }).filter((s) => /insert/i.test(String(s.tags['db.query.text'] ?? s.tags['db.statement'] ?? s.name)));
    expect(orderSql.length).toBeGreaterThan(0);
    for (const sql of orderSql) expect(t.descends(sql, placement)).toBe(true);

    // The order's event, published later by the outbox relay, continues this trace under the placement.
    const publish = await traceOf(traceId, (t) => t.find({ kind: 'producer', tag: ['messaging.kafka.message.key', orderId] }).length > 0);
    const event = publish.one({ kind: 'producer', tag: ['messaging.kafka.message.key', orderId] });
    expect(event.name).toBe(`publish ${stack.topics.order}`);
    expect(publish.descends(event, placement)).toBe(true);
    expect(['order-service', 'order-consumer']).toContain(event.service);

    // Found again from the order id alone, as docs/tracing.md shows.
    const byOrder = await jaeger.search('order-service', { 'order.id': orderId });
    expect(byOrder.map((x) => x.id)).toContain(traceId);
    expect(t.spans.some((s) => s.error)).toBe(false);
  });

  it('a rejected order (insufficient stock) answers 409 and its trace carries the error status and the reason', async () => {
    const productId = await product(1);
    const { traceparent, traceId } = newTraceparent();
    const refused = await api('POST', '/orders', { user_id: '7', items: [{ product_id: productId, quantity: 3 }] }, customer, traceparent);
    expect(refused.status).toBe(409);

    const t = await traceOf(traceId, (t) => has('product-service', 'server')(t) && t.spans.some((s) => s.error && s.service === 'order-service'));
    const placement = t.one({ service: 'order-service', name: 'place order' });
    expect(placement).toMatchObject({ error: true, statusMessage: 'order rejected: insufficient_stock' });
    expect(placement.tags['order.status']).toBe('rejected');
    // The product service's refusal is under it: the reservation call answered 409.
    expect(t.descends(t.one({ service: 'product-service', kind: 'server' }), placement)).toBe(true);
  });
});

describe('an async order through the gateway', () => {
  it('is one trace across the outbox and Kafka: intake → publish (child) → consumer process (child) → reservation → decision', async () => {
    const productId = await product(10);
    const { traceparent, traceId } = newTraceparent();
    const accepted = await api('POST', '/orders/async', { user_id: '7', items: [{ product_id: productId, quantity: 1 }] }, customer, traceparent);
    expect(accepted.status).toBe(202);
    const orderId = accepted.body.id as string;
    const deadline = Date.now() + 30_000;
    let status = 'pending';
    while (status === 'pending' && Date.now() < deadline) {
      await sleep(100);
      status = (await api('GET', `/orders/${orderId}`, undefined, customer)).body.status as string;
    }
    expect(status).toBe('confirmed');

    const t = await traceOf(traceId, (t) => has('order-consumer', 'consumer')(t) && has('product-service', 'server')(t) && has('order-consumer', 'producer')(t));
    expect([...t.services].sort()).toEqual(['api-gateway', 'order-consumer', 'order-service', 'product-service']);

    const intake = t.one({ service: 'order-service', kind: 'server' });
    expect(intake.name).toBe('POST /orders/async');
    expect(t.descends(intake, t.one({ service: 'api-gateway', kind: 'server' }))).toBe(true);

    // The relay's publish span is the child of the request whose transaction wrote the outbox row.
    const placedTopic = stack.topics.order;
    const published = t.find({ kind: 'producer', name: `publish ${placedTopic}` }).filter((s) => s.tags['eshop.event.type'] === 'order.placed');
    expect(published).toHaveLength(1);
    expect(t.descends(published[0]!, intake)).toBe(true);
    expect(published[0]!.tags['messaging.kafka.message.key']).toBe(orderId);

    // The consumer continues from the message headers: its process span is the publish span's child.
    const processed = t.find({ service: 'order-consumer', kind: 'consumer' }).filter((s) => s.tags['eshop.event.type'] === 'order.placed');
    expect(processed).toHaveLength(1);
    expect(t.parentOf(processed[0]!)?.id).toBe(published[0]!.id);
    expect(processed[0]!.tags['order.id']).toBe(orderId);
    const decision = t.one({ service: 'order-consumer', name: 'decide order' });
    expect(t.parentOf(decision)?.id).toBe(processed[0]!.id);
    expect(decision.tags).toMatchObject({ 'order.id': orderId, 'order.status': 'confirmed' });

    // Under it: the reservation in the product service (and its SQL), the decision's transaction, its own event.
    const reservation = t.one({ service: 'product-service', kind: 'server' });
    expect(t.descends(reservation, decision)).toBe(true);
    const decisionSql = t.find({ service: 'order-consumer', kind: 'client' }).filter((s) => /update/i.test(String(s.tags['db.query.text'] ?? s.tags['db.statement'] ?? s.name)));
    expect(decisionSql.length).toBeGreaterThan(0);
    for (const sql of decisionSql) expect(t.descends(sql, processed[0]!)).toBe(true);
    const decisionEvent = t.find({ service: 'order-consumer', kind: 'producer' });
    expect(decisionEvent.length).toBeGreaterThan(0);
    for (const e of decisionEvent) expect(t.descends(e, processed[0]!)).toBe(true);

    // The consumer's log lines of this order carry the trace: a log line leads to its trace and back.
    const lines = readFileSync(stack.logFile('consumer'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(orderId))
      .map((l) => JSON.parse(l) as { trace_id?: string; span_id?: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.trace_id === traceId && /^[0-9a-f]{16}$/.test(l.span_id ?? ''))).toBe(true);
  });
});

describe('exemplars', () => {
  it('with tracing on, /metrics speaks OpenMetrics and the HTTP latency buckets carry the trace id of a request', async () => {
    const { traceparent, traceId } = newTraceparent();
    expect((await api('GET', '/products', undefined, customer, traceparent)).status).toBe(200);
    const product = stack.running('product')[0]!;
    const res = await fetch(`${product.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await res.text();
    const exemplar = text.split('\n').find((l) => l.startsWith('http_server_request_duration_seconds_bucket') && l.includes(`trace_id="${traceId}"`));
    expect(exemplar).toBeDefined();
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
  });
});

describe('tracing off', () => {
  let sink: Server;
  let received = 0;
  let off: BenchStack;

  beforeAll(async () => {
    sink = createServer((req, res) => {
      received++;
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    off = new BenchStack(infraSettings(), `${__dirname}/../../.local/tracing-test`, 'info', () => undefined);
    await off.prepare();
  });

  afterAll(async () => {
    await off?.cleanup(false);
    sink?.close();
  });

  it('OTEL_SDK_DISABLED=true: no exporter traffic at all, classic Prometheus text, no trace ids in the logs — and the same process with it on does export', async () => {
    const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    off.extraEnv = () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true', OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100' });
    const disabled = await off.start('product', 'product-off');
    const { traceparent } = newTraceparent();
    for (let i = 0; i < 20; i++) expect((await fetch(`${disabled.url}/products`, { headers: { traceparent } })).status).toBe(200);
    const metrics = await fetch(`${disabled.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).not.toContain('trace_id');
    await off.stop(disabled); // a shutdown flushes whatever an SDK holds: nothing may arrive even then
    await sleep(500);
    expect(received).toBe(0);
    expect(readFileSync(off.logFile('product-off'), 'utf8')).not.toContain('trace_id');

    // The control: the same process and endpoint with tracing on exports spans to the sink.
    off.extraEnv = () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100' });
    const enabled = await off.start('product', 'product-on');
    for (let i = 0; i < 5; i++) expect((await fetch(`${enabled.url}/products`)).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (received === 0 && Date.now() < deadline) await sleep(100);
    expect(received).toBeGreaterThan(0);
  });

  it('an invalid OTEL_* value stops the process at start with the variable named', async () => {
    off.extraEnv = () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_SAMPLER_ARG: '1.5' });
    await expect(off.start('product', 'product-bad')).rejects.toThrow(/exited during start-up/);
    expect(readFileSync(off.logFile('product-bad'), 'utf8')).toContain('OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got "1.5"');
  });
});
