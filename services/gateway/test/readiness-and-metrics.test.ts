import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@eshop/test-support';
import { metricValue, send, startTestGateway, type TestGateway } from './support/gateway';
import { closedPort, startEchoUpstream, startFlakyUpstream, startSlowUpstream, type TestServer } from './support/upstreams';

describe('gateway readiness', () => {
  let product: Awaited<ReturnType<typeof startEchoUpstream>>;
  let order: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw: TestGateway;

  beforeAll(async () => {
    product = await startEchoUpstream('product');
    order = await startEchoUpstream('order');
    gw = await startTestGateway({ PRODUCT_SERVICE_URL: product.url, ORDER_SERVICE_URL: order.url });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([product.close(), order.close()]);
  });

  afterEach(() => {
    product.setReady(true);
    order.setReady(true);
  });

  it('is ready when both upstreams answer /readyz with 200, reporting each', async () => {
    const res = await send(`${gw.url}/readyz`);

    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ready', phase: 'ready', checks: { 'product-service': 'ok', 'order-service': 'ok' } });
  });

  it('is not ready while one upstream is not ready, naming it', async () => {
    order.setReady(false);

    const res = await send(`${gw.url}/readyz`);

    expect(res.status).toBe(503);
    expect(res.json.checks).toEqual({ 'product-service': 'ok', 'order-service': 'failed' });
  });

  it('is not ready while an upstream cannot be reached, and stays alive on /healthz', async () => {
    const port = await closedPort();
    const orphan = await startTestGateway({ PRODUCT_SERVICE_URL: `http://127.0.0.1:${port}`, ORDER_SERVICE_URL: order.url });
    try {
      const ready = await send(`${orphan.url}/readyz`);
      const healthy = await send(`${orphan.url}/healthz`);

      expect(ready.status).toBe(503);
      expect(ready.json.checks['product-service']).toBe('failed'); // the reason (ECONNREFUSED, internal address) stays in the log
      expect(ready.json.checks['order-service']).toBe('ok');
      expect(healthy.status).toBe(200);
      expect(healthy.json).toEqual({ status: 'ok' });
    } finally {
      await orphan.stop();
    }
  });

  it('does not forward /readyz, /healthz or /metrics to the services', async () => {
    const before = product.received.length + order.received.length;

    await send(`${gw.url}/healthz`);
    await send(`${gw.url}/metrics`);

    expect(product.received.length + order.received.length).toBe(before);
  });
});

describe('gateway metrics', () => {
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

  async function scrape(gw: TestGateway): Promise<string> {
    const res = await send(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    return res.body;
  }

  it('records upstream latency by upstream, method and status, and route templates instead of raw URLs', async () => {
    const echo = await upstream(startEchoUpstream('product'));
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: echo.url, ORDER_SERVICE_URL: echo.url });

    await send(`${gw.url}/products/17`);
    await send(`${gw.url}/products/18`);
    await send(`${gw.url}/orders`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    const text = await scrape(gw);

    const labels = { upstream: 'product-service', method: 'GET', status_code: '200' };
    expect(metricValue(text, 'gateway_upstream_request_duration_seconds_count', labels)).toBe(2);
    expect(metricValue(text, 'gateway_upstream_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
    expect(
      metricValue(text, 'gateway_upstream_request_duration_seconds_count', { upstream: 'order-service', method: 'POST', status_code: '201' }),
    ).toBe(1);
    expect(metricValue(text, 'http_server_request_duration_seconds_count', { route: '/products/:id', status_code: '200' })).toBe(2);
    expect(metricValue(text, 'http_server_request_duration_seconds_count', { route: '/orders', method: 'POST' })).toBe(1);
    expect(text).not.toMatch(/\/products\/17|\/products\/18/);
  });

  it('counts upstream errors by kind and shows the breaker state per upstream', async () => {
    const port = await closedPort();
    const slow = await upstream(startSlowUpstream());
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: slow.url,
      ORDER_SERVICE_URL: `http://127.0.0.1:${port}`,
      GATEWAY_PRODUCT_TIMEOUT_MS: '100',
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '2',
    });
    const initial = await scrape(gw);

    await send(`${gw.url}/products/1`); // timeout
    await send(`${gw.url}/orders/1`); // connect
    await send(`${gw.url}/orders/1`); // connect, opens the order breaker
    await send(`${gw.url}/orders/1`); // breaker_open
    const text = await scrape(gw);
    slow.release();

    expect(metricValue(initial, 'gateway_upstream_errors_total', { upstream: 'order-service', kind: 'connect' })).toBe(0);
    expect(metricValue(initial, 'gateway_circuit_breaker_state', { upstream: 'order-service' })).toBe(0);
    expect(metricValue(text, 'gateway_upstream_errors_total', { upstream: 'product-service', kind: 'timeout' })).toBe(1);
    expect(metricValue(text, 'gateway_upstream_errors_total', { upstream: 'order-service', kind: 'connect' })).toBe(2);
    expect(metricValue(text, 'gateway_upstream_errors_total', { upstream: 'order-service', kind: 'breaker_open' })).toBe(1);
    expect(metricValue(text, 'gateway_circuit_breaker_state', { upstream: 'order-service' })).toBe(2);
    expect(metricValue(text, 'gateway_circuit_breaker_state', { upstream: 'product-service' })).toBe(0);
    expect(metricValue(text, 'http_server_request_duration_seconds_count', { route: '/orders/:id', status_code: '503' })).toBe(1);
    expect(metricValue(text, 'http_server_request_duration_seconds_count', { route: '/orders/:id', status_code: '502' })).toBe(2);
  });

  it('reports the half-open state while a probe is in flight, and fails other callers fast meanwhile', async () => {
    const flaky = await upstream(startFlakyUpstream());
    const gw = await gatewayFor({
      PRODUCT_SERVICE_URL: flaky.url,
      ORDER_SERVICE_URL: flaky.url,
      GATEWAY_BREAKER_FAILURE_THRESHOLD: '1',
      GATEWAY_BREAKER_HALF_OPEN_AFTER_MS: '100',
    });
    await send(`${gw.url}/products/1`);
    const open = await scrape(gw);
    flaky.setMode('hold');
    await new Promise((r) => setTimeout(r, 150));

    const probe = send(`${gw.url}/products/1`);
    await eventually(() => expect(flaky.waiting()).toBe(1), 5000, 10);
    const halfOpen = await scrape(gw);
    const meanwhile = await send(`${gw.url}/products/2`);
    flaky.release();

    expect(metricValue(open, 'gateway_circuit_breaker_state', { upstream: 'product-service' })).toBe(2);
    expect(metricValue(halfOpen, 'gateway_circuit_breaker_state', { upstream: 'product-service' })).toBe(1);
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.headers['retry-after']).toBe('1');
    expect(flaky.received.map((r) => r.path)).toEqual(['/products/1', '/products/1']);
    expect((await probe).status).toBe(200);
    expect(metricValue(await scrape(gw), 'gateway_circuit_breaker_state', { upstream: 'product-service' })).toBe(0);
  });

  it('counts a connection the upstream drops in the middle of its response as a reset, and cuts the client off', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: url, ORDER_SERVICE_URL: url });

    await expect(send(`${gw.url}/products/1`)).rejects.toThrow();

    await eventually(async () => {
      expect(metricValue(await scrape(gw), 'gateway_upstream_errors_total', { upstream: 'product-service', kind: 'reset' })).toBe(1);
    }, 5000, 50);
  });

  it('does not blame the upstream when the client leaves in the middle of a streamed response', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"partial":');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gw = await gatewayFor({ PRODUCT_SERVICE_URL: url, ORDER_SERVICE_URL: url });

    await new Promise<void>((resolve) => {
      const client = http.get(`${gw.url}/products/1`, { agent: false }, (res) => {
        res.once('data', () => {
          client.destroy();
          resolve();
        });
      });
      client.on('error', () => {});
    });

    await eventually(async () => {
      const text = await scrape(gw);
      expect(metricValue(text, 'http_server_request_duration_seconds_count', { route: '/products/:id' })).toBe(1);
    }, 5000, 50);
    const text = await scrape(gw);
    for (const kind of ['timeout', 'connect', 'reset', 'protocol', 'other']) {
      expect(metricValue(text, 'gateway_upstream_errors_total', { upstream: 'product-service', kind })).toBe(0);
    }
  });
});
