import './support/node-version';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '@eshop/common';
import { silentLogger } from '@eshop/test-support';
import { ProductClient, ProductServiceUnavailableError } from '../src/clients/product-client';
import { freePort } from '@eshop/test-support';

/** A stand-in HTTP server whose next answer each test chooses: the client's mapping of real HTTP behaviour. */
describe('ProductClient (undici Pool against a local HTTP server)', () => {
  let server: http.Server;
  let port: number;
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const clients: ProductClient[] = [];

  const client = (baseUrl = `http://127.0.0.1:${port}`, timeoutMs = 500) => {
    const c = new ProductClient({ baseUrl, timeoutMs, connectTimeoutMs: 200, connections: 4, logger: silentLogger, metrics: new Metrics('client-test') });
    clients.push(c);
    return c;
  };
  const json = (status: number, body: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' }).end(JSON.stringify(body));
  };
  const lines = [{ productId: 7, quantity: 2 }];

  beforeAll(async () => {
    server = http.createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('maps 201 and 200 to a reservation with the captured names and prices', async () => {
    let received: unknown;
    answer = (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received = { method: req.method, url: req.url, body: JSON.parse(body) };
        json(201, { order_id: 'o1', status: 'reserved', items: [{ product_id: 7, name: 'Lamp', quantity: 2, unit_price: '19.99' }] })(req, res);
      });
    };

    const outcome = await client().reserve('o1', lines);

    expect(received).toEqual({ method: 'POST', url: '/internal/reservations', body: { order_id: 'o1', items: [{ product_id: 7, quantity: 2 }] } });
    expect(outcome).toEqual({ kind: 'reserved', created: true, items: [{ productId: 7, name: 'Lamp', quantity: 2, unitPrice: '19.99' }] });
  });

  it.each([
    [409, { code: 'insufficient_stock', product_id: 7, requested: 2, available: 1 }, { kind: 'insufficient_stock', productId: 7, requested: 2, available: 1 }],
    [422, { code: 'product_unavailable', product_id: 7 }, { kind: 'product_unavailable', productId: 7 }],
    [409, { code: 'reservation_released' }, { kind: 'reservation_released' }],
    [409, { code: 'reservation_conflict' }, { kind: 'reservation_conflict' }],
  ])('maps %i %j to a typed refusal', async (status, body, expected) => {
    answer = json(status, body);

    expect(await client().reserve('o1', lines)).toEqual(expected);
  });

  it.each([
    [500, false],
    [503, false],
    [502, true],
    [504, true],
  ])('turns a %i into ProductServiceUnavailableError (maybeApplied %s)', async (status, maybeApplied) => {
    answer = json(status, { code: 'whatever' });

    const error = await client().reserve('o1', lines).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ProductServiceUnavailableError);
    expect(error).toMatchObject({ maybeApplied });
  });

  it('turns a response slower than the timeout into ProductServiceUnavailableError that may have been applied', async () => {
    answer = (req, res) => setTimeout(() => json(201, {})(req, res), 1500);
    const started = Date.now();

    const error = await client(undefined, 300).reserve('o1', lines).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ProductServiceUnavailableError);
    expect(error).toMatchObject({ maybeApplied: true });
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it('turns a refused connection into ProductServiceUnavailableError that was certainly not applied', async () => {
    const closedPort = await freePort();

    const error = await client(`http://127.0.0.1:${closedPort}`).release('o1').catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ProductServiceUnavailableError);
    expect(error).toMatchObject({ maybeApplied: false });
  });

  it('still reports "may have been applied" when a request read by a process that then died is retried and refused', async () => {
    // A product service killed after it had read (and possibly committed) the reservation: the connection
    // drops mid-request, and the one retry finds nobody listening. The first attempt may have applied.
    const dying = http.createServer((req) => {
      req.resume();
      req.on('end', () => {
        dying.close();
        req.socket.destroy();
      });
    });
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
    const dyingPort = (dying.address() as AddressInfo).port;

    const error = await client(`http://127.0.0.1:${dyingPort}`).reserve('o1', lines).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ProductServiceUnavailableError);
    expect(error).toMatchObject({ maybeApplied: true });
  });

  it('releases with POST /internal/reservations/:id/release and fails loudly on an unexpected answer', async () => {
    const seen: string[] = [];
    answer = (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      json(200, { order_id: 'o-9', status: 'released', items: [] })(req, res);
    };
    await client().release('o-9');
    expect(seen).toEqual(['POST /internal/reservations/o-9/release']);

    answer = json(400, { code: 'validation_failed' });
    await expect(client().release('bad id')).rejects.toThrow(/refused release/);
  });
});
