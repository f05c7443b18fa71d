import http from 'node:http';
import { eventually } from '@eshop/test-support';
import { metricValue, send, startTestGateway, type TestGateway } from './support/gateway';
import {
  closedPort,
  startEchoUpstream,
  startFlakyUpstream,
  startProblemUpstream,
  startSlowUpstream,
  type TestServer,
} from './support/upstreams';

const json = { 'Content-Type': 'application/json' };

describe('gateway when an upstream is slow or down', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function gatewayFor(env: Record<string, string>): Promise<TestGateway> {
    const gw = await startTestGateway(env);
    cleanup.push(() => gw.stop());
    return gw;
  }

  async function upstream<T extends TestServer>(started: Promise<T>): Promise<T> {
    const server = await started;
    cleanup.push(() => server.close());
    return server;
  }

  it('answers 504 upstream_timeout naming the upstream when it does not answer within the route timeout', async () => {
    const slow = await upstream(startSlowUpstream());
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: slow.url, ORDER_SERVICE_URL: slow.url, GATEWAY_PRODUCT_TIMEOUT_MS: '200' });

    const started = Date.now();
    const res = await send(`${gw.url}/products/1`);

    expect(res.status).toBe(504);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 504, code: 'upstream_timeout', upstream: 'product-service' });
    expect(res.json.detail).toContain('200 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    slow.release();
  });

  it('applies each route its own timeout', async () => {
    const slow = await upstream(startSlowUpstream(400));
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: slow.url,
      ORDER_SERVICE_URL: slow.url,
      GATEWAY_PRODUCT_TIMEOUT_MS: '150',
      GATEWAY_ORDER_TIMEOUT_MS: '3000',
    });

    const [products, orders] = await Promise.all([send(`${gw.url}/products/1`), send(`${gw.url}/orders/1`)]);

    expect(products.status).toBe(504);
    expect(orders.status).toBe(200);
    expect(orders.json).toEqual({ finally: 'done' });
  });

  it('answers 502 upstream_error naming the upstream when the connection is refused', async () => {
    const port = await closedPort();
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: `http://127.0.0.1:${port}`, ORDER_SERVICE_URL: `http://127.0.0.1:${port}` });

    const res = await send(`${gw.url}/orders`, { method: 'POST', body: '{"user_id":1}', headers: json });

    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 502, code: 'upstream_error', upstream: 'order-service' });
    expect(res.json.request_id).toBe(res.headers['x-request-id']);
  });

  it('answers 502 when the upstream drops the connection before answering', async () => {
    const flaky = await upstream(startFlakyUpstream());
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: flaky.url, ORDER_SERVICE_URL: flaky.url });

    const res = await send(`${gw.url}/products/1`);

    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ code: 'upstream_error', upstream: 'product-service' });
  });

  it('opens the breaker after repeated failures, then fails fast with 503 and Retry-After without calling the upstream', async () => {
    const flaky = await upstream(startFlakyUpstream());
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: flaky.url,
      ORDER_SERVICE_URL: flaky.url,
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '3',
      GATEWAY_BREAKER_HALF_OPEN_AFTER_MS: '60000',
    });

    const failures = [];
    for (let i = 0; i < 3; i++) failures.push((await send(`${gw.url}/products/1`)).status);
    const callsBefore = flaky.received.length;
    const rejected = await send(`${gw.url}/products/1`);

    expect(failures).toEqual([502, 502, 502]);
    expect(rejected.status).toBe(503);
    expect(rejected.json).toMatchObject({ status: 503, code: 'upstream_unavailable', upstream: 'product-service' });
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(rejected.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(flaky.received.length).toBe(callsBefore);
  });

  it('keeps the other upstream available while one breaker is open', async () => {
    const port = await closedPort();
    const healthy = await upstream(startEchoUpstream('order'));
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: `http://127.0.0.1:${port}`,
      ORDER_SERVICE_URL: healthy.url,
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '2',
    });

    await send(`${gw.url}/products/1`);
    await send(`${gw.url}/products/1`);
    const products = await send(`${gw.url}/products/1`);
    const orders = await send(`${gw.url}/orders/1`);

    expect(products.status).toBe(503);
    expect(orders.status).toBe(200);
  });

  it('probes after the open period and closes the breaker again once the upstream recovers', async () => {
    const flaky = await upstream(startFlakyUpstream());
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: flaky.url,
      ORDER_SERVICE_URL: flaky.url,
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '2',
      GATEWAY_BREAKER_HALF_OPEN_AFTER_MS: '1000',
    });
    await send(`${gw.url}/products/1`);
    await send(`${gw.url}/products/1`);
    expect((await send(`${gw.url}/products/1`)).status).toBe(503);

    // Still failing when the probe goes through: the probe fails and the breaker opens again.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await send(`${gw.url}/products/1`)).status).toBe(502);
    expect((await send(`${gw.url}/products/1`)).status).toBe(503);

    flaky.setMode('ok');
    await new Promise((r) => setTimeout(r, 1100));
    const probe = await send(`${gw.url}/products/1`);
    const after = await Promise.all([1, 2, 3].map(() => send(`${gw.url}/products/1`)));

    expect(probe.status).toBe(200);
    expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
    const metrics = await send(`${gw.url}/metrics`);
    expect(metricValue(metrics.body, 'gateway_circuit_breaker_state', { upstream: 'product-service' })).toBe(0);
  });

  it('does not count upstream 5xx answers as breaker failures: they are the service speaking', async () => {
    const problems = await upstream(startProblemUpstream());
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: problems.url,
      ORDER_SERVICE_URL: problems.url,
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '1',
    });

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await send(`${gw.url}/products`));

    expect(answers.map((r) => [r.status, r.json.code])).toEqual([
      [503, 'database_unavailable'],
      [503, 'database_unavailable'],
      [503, 'database_unavailable'],
    ]);
    expect(problems.received).toHaveLength(3);
  });

  it('refuses a body over the limit with 413 before anything reaches the upstream', async () => {
    const echo = await upstream(startEchoUpstream('product'));
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: echo.url, ORDER_SERVICE_URL: echo.url, HTTP_BODY_LIMIT: '1kb' });
    const big = JSON.stringify({ name: 'x'.repeat(2000) });

    const declared = await send(`${gw.url}/products`, { method: 'POST', body: big, headers: json });
    const chunked = await send(`${gw.url}/orders`, { method: 'POST', body: big, chunks: 3, headers: json });
    const atLimit = await send(`${gw.url}/products`, { method: 'POST', body: 'y'.repeat(1024), headers: json });

    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ status: 413, code: 'payload_too_large', limit_bytes: 1024 });
    expect(chunked.status).toBe(413);
    expect(atLimit.status).toBe(201);
    expect(echo.received).toHaveLength(1);
    expect(echo.received[0]!.body).toHaveLength(1024);
  });

  it('cancels the upstream call when the client goes away, without counting an upstream error', async () => {
    const slow = await upstream(startSlowUpstream());
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: slow.url, ORDER_SERVICE_URL: slow.url });
    const client = http.request(`${gw.url}/products/1`, { agent: false });
    client.on('error', () => {});
    client.end();
    await eventually(() => expect(slow.waiting()).toBe(1), 5000, 20);

    client.destroy();

    await eventually(async () => {
      const metrics = (await send(`${gw.url}/metrics`)).body;
      expect(metricValue(metrics, 'http_server_request_duration_seconds_count', { route: '/products/:id', status_code: '499' })).toBe(1);
    }, 5000, 50);
    const metrics = (await send(`${gw.url}/metrics`)).body;
    for (const kind of ['timeout', 'connect', 'reset', 'other']) {
      expect(metricValue(metrics, 'gateway_upstream_errors_total', { upstream: 'product-service', kind })).toBe(0);
    }
    slow.release();
  });
});
