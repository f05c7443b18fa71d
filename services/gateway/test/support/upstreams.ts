/** Small real HTTP servers that stand in for the product and order services in gateway tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  /** Requests that reached this server, in arrival order. */
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  path: string;
  query: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  /** The body as UTF-8 text. */
  body: string;
  /** The body exactly as the bytes arrived. */
  bodyBase64: string;
}

/** What the echo server answers: the request as it arrived. */
export type Echo = ReceivedRequest & { server: string };

async function serve(app: Express, received: ReceivedRequest[]): Promise<TestServer> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function recorder(received: ReceivedRequest[]): express.RequestHandler[] {
  return [
    express.raw({ type: () => true, limit: '10mb' }),
    (req, _res, next) => {
      received.push({
        method: req.method,
        url: req.originalUrl,
        path: req.path,
        query: { ...req.query },
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '',
        bodyBase64: Buffer.isBuffer(req.body) ? req.body.toString('base64') : '',
      });
      next();
    },
  ];
}

/**
 * Echoes every request (method, URL, query, headers, raw body) as JSON, with 201 for POST and 200
 * otherwise; `/readyz` answers `ready` unless `setReady(false)`.
 */
export async function startEchoUpstream(name: string): Promise<TestServer & { setReady(ready: boolean): void }> {
  const received: ReceivedRequest[] = [];
  let ready = true;
  const app = express();
  app.get('/readyz', (_req, res) => {
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready' });
  });
  app.use(recorder(received));
  app.use((req, res) => {
    const echo: Echo = { ...received[received.length - 1]!, server: name };
    // `X-Echo-Status: 204` makes it answer with that status (and no body where HTTP forbids one).
    const status = Number(req.get('x-echo-status') ?? (req.method === 'POST' ? 201 : 200));
    if (status === 204 || status === 304) res.status(status).end();
    else res.status(status).json(echo);
  });
  const server = await serve(app, received);
  return { ...server, setReady: (value: boolean) => (ready = value) };
}

/** Holds every request until `release()` (or `delayMs`, if given), then answers 200. */
export async function startSlowUpstream(delayMs?: number): Promise<TestServer & { release(): void; waiting(): number }> {
  const received: ReceivedRequest[] = [];
  const pending: Array<() => void> = [];
  const app = express();
  app.use(recorder(received));
  app.use(async (_req, res) => {
    await new Promise<void>((resolve) => {
      pending.push(resolve);
      if (delayMs !== undefined) setTimeout(resolve, delayMs);
    });
    res.json({ finally: 'done' });
  });
  const server = await serve(app, received);
  return {
    ...server,
    release: () => pending.splice(0).forEach((resolve) => resolve()),
    waiting: () => pending.length,
  };
}

/** Answers like a service that rejects requests: problem+json bodies with Location/ETag/Retry-After/Link. */
export async function startProblemUpstream(): Promise<TestServer> {
  const received: ReceivedRequest[] = [];
  const app = express();
  app.use(recorder(received));
  app.post('/orders', (_req, res) => {
    res
      .status(409)
      .type('application/problem+json')
      .setHeader('Location', '/orders/77')
      .send(
        JSON.stringify({
          type: 'urn:eshop:problem:insufficient-stock',
          title: 'Conflict',
          status: 409,
          code: 'insufficient_stock',
          detail: 'product 3 has 1 left, 2 requested',
        }),
      );
  });
  app.put('/products/:id', (_req, res) => {
    res
      .status(412)
      .setHeader('ETag', '"7"')
      .type('application/problem+json')
      .send(JSON.stringify({ type: 'urn:eshop:problem:version-mismatch', status: 412, code: 'version_mismatch' }));
  });
  app.get('/products', (_req, res) => {
    res.status(503).setHeader('Retry-After', '30').type('application/problem+json').send('{"code":"database_unavailable","status":503}');
  });
  app.get('/products/:id', (_req, res) => {
    res
      .status(200)
      .setHeader('ETag', '"3"')
      .setHeader('Link', '</products?cursor=abc>; rel="next"')
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/'])
      .json({ id: 1 });
  });
  return serve(app, received);
}

/** A TCP port on which nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export type FlakyMode = 'fail' | 'hold' | 'ok';

/**
 * An upstream whose behaviour the test switches: `fail` destroys the socket without answering (a
 * crashing service), `hold` keeps requests waiting until `release()`, `ok` answers 200. Starts failing.
 */
export async function startFlakyUpstream(): Promise<
  TestServer & { setMode(mode: FlakyMode): void; release(): void; waiting(): number }
> {
  const received: ReceivedRequest[] = [];
  const held: Array<() => void> = [];
  let mode: FlakyMode = 'fail';
  const app = express();
  app.use(recorder(received));
  app.use(async (req, res) => {
    if (mode === 'fail') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hold') await new Promise<void>((resolve) => held.push(resolve));
    res.json({ ok: true });
  });
  const server = await serve(app, received);
  return {
    ...server,
    setMode: (value: FlakyMode) => (mode = value),
    release: () => held.splice(0).forEach((resolve) => resolve()),
    waiting: () => held.length,
  };
}
