import { send, startTestGateway, type TestGateway } from './support/gateway';
import { startEchoUpstream, type TestServer } from './support/upstreams';

describe('gateway routing', () => {
  let product: TestServer;
  let order: TestServer;
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

  const productBody = '{"name":"Grinder",  "price": "249.90", "stock":5}';
  const orderBody = '{"user_id":7,"items":[{"product_id":3,"quantity":2}]}';

  it.each([
    ['POST', '/products', 'product', productBody, { 'Idempotency-Key': 'k-1' }],
    ['GET', '/products?limit=2&cursor=eyJpZCI6NH0&q=caf%C3%A9', 'product', undefined, {}],
    ['GET', '/products/42', 'product', undefined, {}],
    ['PUT', '/products/42', 'product', productBody, { 'If-Match': '"3"' }],
    ['DELETE', '/products/42', 'product', undefined, { 'If-Match': '"4"' }],
    ['POST', '/orders', 'order', orderBody, { 'Idempotency-Key': '0b6a1c1e-order' }],
    ['POST', '/orders/async', 'order', orderBody, { 'Idempotency-Key': 'k-async' }],
    ['GET', '/orders/9', 'order', undefined, {}],
    ['GET', '/orders?user_id=7&limit=10', 'order', undefined, {}],
    ['PUT', '/orders/9/status', 'order', '{"status":"SHIPPED"}', { 'If-Match': '"2"' }],
  ] as const)(
    '%s %s reaches the %s service with method, path, query, headers and body intact',
    async (method, path, service, body, extraHeaders) => {
      const upstream = service === 'product' ? product : order;
      const before = upstream.received.length;

      const res = await send(gw.url + path, {
        method,
        body,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Custom': 'kept', ...extraHeaders },
      });

      expect(res.status).toBe(method === 'POST' ? 201 : 200);
      expect(res.json.server).toBe(service);
      expect(upstream.received).toHaveLength(before + 1);
      const seen = upstream.received[before]!;
      expect(seen.method).toBe(method);
      expect(seen.url).toBe(path);
      expect(seen.body).toBe(body ?? '');
      expect(seen.headers['x-custom']).toBe('kept');
      expect(seen.headers.accept).toBe('application/json');
      for (const [name, value] of Object.entries(extraHeaders)) expect(seen.headers[name.toLowerCase()]).toBe(value);
      if (body) expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    },
  );

  it('keeps the raw query string, including repeated and encoded parameters', async () => {
    const res = await send(`${gw.url}/products?tag=a&tag=b&q=%E2%82%AC%20off&empty=`);

    expect(res.status).toBe(200);
    expect(res.json.url).toBe('/products?tag=a&tag=b&q=%E2%82%AC%20off&empty=');
    expect(res.json.query).toEqual({ tag: ['a', 'b'], q: '€ off', empty: '' });
  });

  it('forwards deeper paths under /products/ and /orders/ to their owners', async () => {
    const productRes = await send(`${gw.url}/products/42/reviews`);
    const orderRes = await send(`${gw.url}/orders/9/items/1`);

    expect(productRes.json).toMatchObject({ server: 'product', url: '/products/42/reviews' });
    expect(orderRes.json).toMatchObject({ server: 'order', url: '/orders/9/items/1' });
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const res = await send(`${gw.url}/products/42`, { method: 'HEAD' });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    expect(res.body).toBe('');
    expect(product.received.at(-1)!.method).toBe('HEAD');
  });

  it('passes a bodiless 204 through', async () => {
    const res = await send(`${gw.url}/products/42`, { method: 'DELETE', headers: { 'X-Echo-Status': '204' } });

    expect(res.status).toBe(204);
    expect(res.body).toBe('');
  });

  it('streams a binary body byte for byte', async () => {
    const body = Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22, 0x0a, 0xc3, 0x28]);

    const res = await send(`${gw.url}/products`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });

    expect(res.status).toBe(201);
    expect(product.received.at(-1)!.bodyBase64).toBe(body.toString('base64'));
    expect(product.received.at(-1)!.headers['content-type']).toBe('application/octet-stream');
  });

  it.each([
    ['POST', '/internal/reservations'],
    ['GET', '/internal/reservations/5'],
    ['GET', '/'],
    ['GET', '/users'],
    ['GET', '/productsx'],
    ['GET', '/products/../internal/reservations'],
    ['GET', '/products/%2e%2e/internal/reservations'],
    ['GET', '/orders/./9'],
  ])('%s %s is not routed: 404 problem, no upstream call', async (method, path) => {
    const before = product.received.length + order.received.length;

    const res = await send(gw.url + path, { method, body: method === 'POST' ? '{}' : undefined, headers: { 'Content-Type': 'application/json' } });

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json).toMatchObject({ status: 404, code: 'route_not_found' });
    expect(product.received.length + order.received.length).toBe(before);
  });
});
