/**
 * What every service's HTTP server does with hostile clients: deep JSON, oversized header blocks, and
 * clients that send their request too slowly (slowloris). Real sockets, real server.
 */
import net from 'node:net';
import request from 'supertest';
import { createHttpApp, createLogger, DEFAULT_SERVER_LIMITS, jsonDepthExceeds, listen, Metrics, ServiceState, type RunningHttpServer } from '@eshop/common';
import { summarizeUploads, uploadWithFetch, uploadWithSocket, type UploadOutcome } from '@eshop/test-support';

function app(jsonMaxDepth = 4) {
  const state = new ServiceState();
  const built = createHttpApp({
    logger: createLogger('test', 'silent'),
    metrics: new Metrics('test'),
    state,
    readiness: [],
    bodyLimit: 100 * 1024,
    jsonMaxDepth,
    routes: (a) => {
      a.post('/echo', (req, res) => {
        res.json({ received: req.body });
      });
      a.get('/ok', (_req, res) => {
        res.json({ ok: true });
      });
    },
  });
  state.set('ready');
  return built;
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON depth limit', () => {
  it('counts nesting without parsing, ignoring brackets inside strings', () => {
    expect(jsonDepthExceeds(Buffer.from('{"a":[1,{"b":2}]}'), 3)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from('{"a":[1,{"b":2}]}'), 2)).toBe(true);
    expect(jsonDepthExceeds(Buffer.from('{"a":"[[[[[[\\"[[[["}'), 1)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from(nested(100_000)), 16)).toBe(true);
  });

  it('answers a body nested deeper than HTTP_JSON_MAX_DEPTH with 400 json_too_deep, and accepts one at the limit', async () => {
    const deep = await request(app(4)).post('/echo').set('content-type', 'application/json').send(nested(5));
    expect(deep.status).toBe(400);
    expect(deep.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(deep.body).toMatchObject({ code: 'json_too_deep', max_depth: 4 });

    const atLimit = await request(app(4)).post('/echo').set('content-type', 'application/json').send(nested(4));
    expect(atLimit.status).toBe(200);
  });
});

describe('HTTP server limits on real sockets', () => {
  let server: RunningHttpServer;

  beforeAll(async () => {
    server = await listen(app(), 0, '127.0.0.1', {
      httpJsonMaxDepth: 4,
      httpMaxHeaderBytes: 4096,
      httpHeadersTimeoutMs: 1000,
      httpRequestTimeoutMs: 2000,
    });
  });

  afterAll(async () => {
    await server.close(1000);
  });

  /** Writes `chunks` with `gapMs` between them; resolves with what the server sent and when it closed. */
  function trickle(chunks: string[], gapMs: number): Promise<{ response: string; closedAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = net.connect(server.port, '127.0.0.1');
      let response = '';
      let i = 0;
      const timer = setInterval(() => {
        if (i < chunks.length && !socket.destroyed) socket.write(chunks[i++]!);
      }, gapMs);
      socket.on('data', (d) => (response += d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ response, closedAfterMs: Date.now() - started });
      });
      setTimeout(() => reject(new Error('the server never closed the slow connection')), 15_000).unref();
    });
  }

  it('answers a header block over HTTP_MAX_HEADER_BYTES with 431', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/ok`, { headers: { 'x-padding': 'a'.repeat(8192) } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 431, code: 'headers_too_large' });
  });

  it('cuts off a client that sends its headers too slowly (slowloris) with 408', async () => {
    const headerBytes = 'GET /ok HTTP/1.1\r\nHost: x\r\n'.split('').concat(Array.from({ length: 200 }, (_, n) => `X-${n}: y\r\n`));
    const { response, closedAfterMs } = await trickle(headerBytes, 100);

    expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(response).toContain('"code":"request_timeout"');
    // Headers timeout 1 s, checked every second: well before the 20 s the trickle would take.
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('cuts off a client that sends its body too slowly with 408', async () => {
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const { response, closedAfterMs } = await trickle([head, ...Array.from({ length: 100 }, () => ' ')], 200);

    expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(6000);
  });

  it('answers a request Node cannot parse with a 400 problem', async () => {
    const { response } = await trickle(['GET /ok HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n'], 1);
    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/problem\+json/);
    expect(response).toContain('"code":"malformed_request"');
  });

  it('still serves a keep-alive client that waits longer than the headers timeout between requests', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const responses: string[] = [];
    socket.on('data', (d) => responses.push(d.toString()));
    socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 2500));
    socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 500));
    socket.destroy();

    expect(responses.join('').match(/HTTP\/1\.1 200/g)).toHaveLength(2);
  });
});

describe('refusals before the body is read reach the client (every service)', () => {
  // Every service's server (createHttpApp + listen), HTTP_BODY_LIMIT 100 KiB. The client keeps sending while the
  // server refuses; a refusal sent without reading the rest would be lost to a connection reset.
  let server: RunningHttpServer;
  const FIVE_MIB = 5 * 1024 * 1024;
  const summary = summarizeUploads;

  beforeAll(async () => {
    server = await listen(app(), 0, '127.0.0.1', DEFAULT_SERVER_LIMITS);
  });

  afterAll(async () => {
    await server.close(1000);
  });

  it.each([
    ['Node fetch (undici)', uploadWithFetch],
    ['a raw socket', uploadWithSocket],
  ])('%s: 50 × 5 MiB → 50 × 413 problem+json', async (_client, upload) => {
    const outcomes: UploadOutcome[] = [];
    for (let i = 0; i < 50; i++) outcomes.push(await upload(`http://127.0.0.1:${server.port}/echo`, FIVE_MIB));
    expect(summary(outcomes)).toEqual({ '413 application/problem+json; charset=utf-8': 50 });
    expect(JSON.parse(outcomes[0]!.body!)).toMatchObject({ status: 413, code: 'payload_too_large' });
  }, 120_000);

  it('a 415 (not JSON) refused before its body is read reaches the client too, every time, and the server still serves', async () => {
    const outcomes: UploadOutcome[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await uploadWithFetch(`http://127.0.0.1:${server.port}/echo`, 90 * 1024, { 'content-type': 'text/plain' }));
    expect(summary(outcomes)).toEqual({ '415 application/problem+json; charset=utf-8': 20 });
    expect((await fetch(`http://127.0.0.1:${server.port}/ok`)).status).toBe(200);
  });

  it('drains no more than its bound: a body declared larger than 16 MiB is answered without being read', async () => {
    const started = Date.now();
    const req = await new Promise<{ status: number }>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m) resolve({ status: Number(m[1]) });
        else reject(new Error(`no answer: ${text}`));
      });
      socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024 * 1024}\r\n\r\n{"a":`);
    });
    expect(req.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
