import { Router, type Express } from 'express';
import request from 'supertest';
import { AppError, Metrics, ServiceState, createHttpApp, createLogger, listen, type ReadinessCheck } from '@eshop/common';

function buildApp(readiness: ReadinessCheck[] = [], extraRoutes: (app: Express) => void = () => {}) {
  const metrics = new Metrics('test');
  const state = new ServiceState();
  const logger = createLogger('test', 'silent');
  const app = createHttpApp({
    logger,
    metrics,
    state,
    readiness,
    bodyLimit: 1024,
    jsonMaxDepth: 16,
    routes: (a) => {
      a.get('/things/:id', (req, res) => {
        if (req.params.id === 'missing') throw AppError.notFound('thing', req.params.id);
        res.json({ id: req.params.id });
      });
      a.post('/things', (req, res) => {
        res.status(201).json(req.body);
      });
      a.get('/boom', () => {
        throw new Error('secret connection string mysql://root:hunter2@db');
      });
      extraRoutes(a);
    },
  });
  state.set('ready');
  return { app, metrics, state };
}

describe('standard HTTP app', () => {
  it('echoes a well-formed X-Request-Id and creates one otherwise', async () => {
    const { app } = buildApp();
    const given = await request(app).get('/things/1').set('X-Request-Id', 'abc-123');
    expect(given.headers['x-request-id']).toBe('abc-123');
    const forged = await request(app).get('/things/1').set('X-Request-Id', 'bad id\twith spaces');
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes the request id on every log line of a request, and redacts secrets', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = createHttpApp({
      logger,
      metrics: new Metrics('test'),
      state: new ServiceState(),
      readiness: [],
      bodyLimit: 1024,
      jsonMaxDepth: 16,
      routes: (a) =>
        a.get('/work', async (_req, res) => {
          logger.info({ password: 'hunter2' }, 'step one');
          await new Promise((r) => setTimeout(r, 5));
          logger.info('step two');
          res.json({ ok: true });
        }),
    });
    await request(app).get('/work').set('X-Request-Id', 'req-77');
    const ofRequest = lines.filter((l) => l.requestId === 'req-77');
    expect(ofRequest.map((l) => l.msg)).toEqual(['step one', 'step two', 'request']);
    expect(ofRequest[0]).toMatchObject({ service: 'test', level: 'info', password: '[redacted]' });
    expect(ofRequest[2]).toMatchObject({ route: '/work', status: 200 });
  });

  it('never writes credentials to the log: Authorization, cookies, the forwarded identity, passwords', () => {
    const lines: string[] = [];
    const logger = createLogger('test', 'info', { write: (line: string) => void lines.push(line) });
    const headers = { authorization: 'Bearer eyJ.secret.token', cookie: 'session=s3cr3t', 'x-eshop-identity': 'eyJ.signed.identity', accept: 'application/json' };
    logger.info({ req: { headers } }, 'as a request');
    logger.info({ headers }, 'as headers');
    logger.info({ dbPassword: 'hunter2', config: { password: 'hunter3' } }, 'as config');

    const text = lines.join('');
    for (const secret of ['eyJ.secret.token', 's3cr3t', 'eyJ.signed.identity', 'hunter2', 'hunter3']) expect(text).not.toContain(secret);
    expect(text).toContain('application/json');
  });

  it('turns an AppError into application/problem+json with a stable type and code', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/things/missing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:eshop:problem:not-found', code: 'not_found', status: 404 });
    expect(res.body.request_id).toBe(res.headers['x-request-id']);
  });

  it('hides internals of unexpected errors behind a generic 500', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('internal_error');
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|stack|at .*\.ts/);
  });

  it.each([
    ['malformed JSON', '{"a":', 'application/json', 400, 'malformed_json'],
    ['a non-JSON content type', 'a=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['an oversized body', JSON.stringify({ a: 'x'.repeat(2000) }), 'application/json', 413, 'payload_too_large'],
  ])('rejects %s with a problem', async (_name, body, type, status, code) => {
    const { app } = buildApp();
    const res = await request(app).post('/things').set('Content-Type', type).send(body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  it('answers a malformed percent-escape in the path with 400, not 500', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/things/%zz');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('malformed_path');
  });

  it('answers a corrupt compressed body with a 4xx problem, not 500', async () => {
    const { app } = buildApp();
    const res = await request(app)
      .post('/things')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('definitely not gzip');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('answers unknown routes with a 404 problem', async () => {
    const { app } = buildApp();
    const res = await request(app).delete('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('route_not_found');
  });

  it('labels request metrics with the route template, not the raw URL', async () => {
    const { app } = buildApp();
    await request(app).get('/things/17');
    await request(app).get('/things/18');
    const text = (await request(app).get('/metrics')).text;
    expect(text).toMatch(/http_server_request_duration_seconds_count\{service="test",method="GET",route="\/things\/:id",status_code="200"\} 2/);
    expect(text).not.toContain('/things/17');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('labels a request that fails inside a mounted router with its full route template', async () => {
    const orders = Router();
    orders.post('/', () => {
      throw new AppError({ status: 409, code: 'insufficient_stock', detail: 'not enough stock' });
    });
    orders.get('/:id', (req) => {
      throw AppError.notFound('order', String(req.params.id));
    });
    const { app } = buildApp([], (a) => a.use('/orders', orders));
    expect((await request(app).post('/orders').send({})).status).toBe(409);
    expect((await request(app).get('/orders/42')).status).toBe(404);
    const text = (await request(app).get('/metrics')).text;
    expect(text).toMatch(/http_server_request_duration_seconds_count\{service="test",method="POST",route="\/orders",status_code="409"\} 1/);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{service="test",method="GET",route="\/orders\/:id",status_code="404"\} 1/);
    expect(text).not.toMatch(/route="\/(:id)?"/);
  });

  it('is not ready while a dependency fails, while starting, or while draining', async () => {
    let dbUp = true;
    const { app, state } = buildApp([{ name: 'db', check: async () => { if (!dbUp) throw new Error('db down'); } }]);
    expect((await request(app).get('/readyz')).status).toBe(200);
    dbUp = false;
    const down = await request(app).get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.checks.db).toBe('failed');
    dbUp = true;
    state.set('draining');
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  it('reports a failing non-critical check in the body but stays ready; a critical one makes it 503', async () => {
    let kafkaUp = false;
    let dbUp = true;
    const { app } = buildApp([
      { name: 'database', check: async () => { if (!dbUp) throw new Error('db down'); } },
      { name: 'kafka', check: async () => { if (!kafkaUp) throw new Error('broker down'); }, critical: false },
    ]);
    const degraded = await request(app).get('/readyz');
    expect({ status: degraded.status, body: degraded.body }).toEqual({
      status: 200, body: { status: 'ready', phase: 'ready', checks: { database: 'ok', kafka: 'failed' } },
    });
    dbUp = false;
    kafkaUp = true;
    const down = await request(app).get('/readyz');
    expect({ status: down.status, checks: down.body.checks }).toEqual({ status: 503, checks: { database: 'failed', kafka: 'ok' } });
  });

  it('lets an in-flight request finish when the server closes, and refuses new connections', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { app: base } = buildApp([], (a) =>
      a.get('/slow', async (_req, res) => {
        await gate;
        res.json({ done: true });
      }),
    );
    const server = await listen(base, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${server.port}`;
    const inFlight = fetch(`${url}/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close(10000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    release();
    await expect(inFlight).resolves.toEqual({ status: 200, body: { done: true } });
    const started = Date.now();
    await closing;
    expect(Date.now() - started).toBeLessThan(5000); // drained, not cut off by the 10 s bound
  });
});
