import { verifyIdentity } from '@eshop/common';
import { accessToken, TEST_AUTH } from '@eshop/test-support';
import { send, startTestGateway, type TestGateway } from './support/gateway';
import { startEchoUpstream, startProblemUpstream, type TestServer } from './support/upstreams';

describe('gateway pass-through of upstream answers and headers', () => {
  let problems: TestServer;
  let echo: TestServer;
  let gw: TestGateway;

  beforeAll(async () => {
    problems = await startProblemUpstream();
    echo = await startEchoUpstream('order');
    gw = await startTestGateway({ PRODUCT_SERVICE_URL: problems.url, ORDER_SERVICE_URL: echo.url });
  });

  afterAll(async () => {
    await gw.stop();
    await Promise.all([problems.close(), echo.close()]);
  });

  it('passes an upstream 412 problem with its ETag through unchanged', async () => {
    const res = await send(`${gw.url}/products/5`, {
      method: 'PUT',
      body: '{"price":"1.00"}',
      headers: { 'Content-Type': 'application/json', 'If-Match': '"6"' },
    });

    expect(res.status).toBe(412);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.etag).toBe('"7"');
    expect(res.body).toBe('{"type":"urn:eshop:problem:version-mismatch","status":412,"code":"version_mismatch"}');
  });

  it('passes an upstream 503 with Retry-After and its exact body through', async () => {
    const res = await send(`${gw.url}/products?limit=5`);

    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body).toBe('{"code":"database_unavailable","status":503}');
  });

  it('passes ETag, Link, Cache-Control and every Set-Cookie of a success through', async () => {
    const res = await send(`${gw.url}/products/1`);

    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"3"');
    expect(res.headers.link).toBe('</products?cursor=abc>; rel="next"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it('passes a 409 problem with Location through on another upstream route', async () => {
    const problemGateway = await startTestGateway({ PRODUCT_SERVICE_URL: problems.url, ORDER_SERVICE_URL: problems.url });
    try {
      const res = await send(`${problemGateway.url}/orders`, {
        method: 'POST',
        body: '{"user_id":1,"items":[]}',
        headers: { 'Content-Type': 'application/json' },
      });

      expect(res.status).toBe(409);
      expect(res.headers.location).toBe('/orders/77');
      expect(res.json).toEqual({
        type: 'urn:eshop:problem:insufficient-stock',
        title: 'Conflict',
        status: 409,
        code: 'insufficient_stock',
        detail: 'product 3 has 1 left, 2 requested',
      });
    } finally {
      await problemGateway.stop();
    }
  });

  it('creates a request id, sends it upstream and returns it to the client', async () => {
    const res = await send(`${gw.url}/orders/1`);

    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json.headers['x-request-id']).toBe(id);
  });

  it('keeps a well-formed incoming request id end to end', async () => {
    const res = await send(`${gw.url}/orders/1`, { headers: { 'X-Request-Id': 'client-trace.42:a' } });

    expect(res.headers['x-request-id']).toBe('client-trace.42:a');
    expect(res.json.headers['x-request-id']).toBe('client-trace.42:a');
  });

  it('replaces a malformed incoming request id instead of forwarding it', async () => {
    const res = await send(`${gw.url}/orders/1`, { headers: { 'X-Request-Id': 'bad id with spaces' } });

    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json.headers['x-request-id']).toBe(res.headers['x-request-id']);
    expect(JSON.stringify(res.json.rawHeaders)).not.toContain('bad id');
  });

  it('puts the request id into the problems the gateway itself produces', async () => {
    const res = await send(`${gw.url}/internal/reservations`, { headers: { 'X-Request-Id': 'trace-404' } });

    expect(res.status).toBe(404);
    expect(res.json.request_id).toBe('trace-404');
  });

  it('drops hop-by-hop headers, including those named in Connection, and keeps end-to-end ones', async () => {
    const res = await send(`${gw.url}/orders/1`, {
      headers: {
        Connection: 'keep-alive, X-Hop-Secret',
        'Keep-Alive': 'timeout=5',
        'X-Hop-Secret': 'do-not-forward',
        TE: 'trailers',
        'Proxy-Authorization': 'Basic c2VjcmV0',
        'X-End-To-End': 'yes',
      },
    });

    const seen = res.json.headers;
    expect(seen['x-hop-secret']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['x-end-to-end']).toBe('yes');
  });

  it('keeps the client\'s token at the gateway and forwards the verified caller, signed, in place of any client-sent identity', async () => {
    const res = await send(`${gw.url}/orders/1`, {
      headers: { Authorization: `Bearer ${await accessToken('c-7', 'customer')}`, 'X-Eshop-Identity': 'forged-by-client' },
    });

    const seen = res.json.headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-eshop-identity']).not.toBe('forged-by-client');
    await expect(verifyIdentity(seen['x-eshop-identity'], TEST_AUTH.identitySecret)).resolves.toEqual({ userId: 'c-7', roles: ['customer'] });
  });

  it('sets X-Forwarded-For/-Proto/-Host from what the gateway sees, ignoring spoofed values', async () => {
    const res = await send(`${gw.url}/orders/1`, {
      headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example', Host: 'shop.example' },
    });

    const seen = res.json.headers;
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('shop.example');
    expect(seen.host).toBe(new URL(echo.url).host);
  });

  it('appends to X-Forwarded-For and keeps the ingress protocol when forwarded headers are trusted', async () => {
    const trusting = await startTestGateway({
      PRODUCT_SERVICE_URL: echo.url,
      ORDER_SERVICE_URL: echo.url,
      GATEWAY_TRUST_FORWARDED_HEADERS: 'true',
    });
    try {
      const res = await send(`${trusting.url}/orders/1`, {
        headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'shop.example' },
      });

      const seen = res.json.headers;
      expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('https');
      expect(seen['x-forwarded-host']).toBe('shop.example');
    } finally {
      await trusting.stop();
    }
  });

  it('re-frames a chunked request body with a Content-Length and the same bytes', async () => {
    const body = JSON.stringify({ user_id: 3, items: [{ product_id: 1, quantity: 1 }], note: 'x'.repeat(3000) });

    const res = await send(`${gw.url}/orders`, { method: 'POST', body, chunks: 4, headers: { 'Content-Type': 'application/json' } });

    expect(res.status).toBe(201);
    const seen = echo.received.at(-1)!;
    expect(seen.body).toBe(body);
    expect(seen.headers['content-length']).toBe(String(body.length));
    expect(seen.headers['transfer-encoding']).toBeUndefined();
  });
});
