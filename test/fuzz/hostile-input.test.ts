/**
 * The hostile-input suite: requests derived from the OpenAPI document the gateway serves, made wrong in
 * every way a client can (values, types, sizes, encodings, media types, credentials, headers, methods,
 * paths), sent through the real gateway to the real product and order services on MariaDB and Kafka.
 *
 * Invariants, each reported with the request that broke it:
 * - no 5xx and no hang (an answer within DEADLINE_MS);
 * - every 4xx is application/problem+json, and a validation error names fields of the request;
 * - every answer to a documented operation is documented: status, media type, body schema, headers;
 * - a request the document forbids (or the caller may not make) is refused;
 * - a refused request changes nothing: no committed write in either database (a write ledger of
 *   triggers sees every one), and a batch of them leaves rows, stock and outbox exactly as they were.
 *
 * Reproduce a run with FUZZ_SEED (printed); FUZZ_RUNS sets the requests per operation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN, identityHeaders } from '@eshop/test-support';
import fc from 'fast-check';
import { FUZZ_SEED } from './support/arbitraries';
import { closeConnections, exchange, rawExchange, type WireRequest, type WireResponse } from './support/http';
import { DEADLINE_MS, Invariants, type Violation } from './support/invariants';
import { operations, type Document } from './support/openapi';
import { FuzzPlatform, tokens } from './support/platform';
import { badCredentials, RequestFactory, type Fixtures, type FuzzRequest } from './support/requests';

const DOCUMENT_FILE = path.join(__dirname, '..', '..', 'services', 'gateway', 'src', 'http', 'openapi.json');
const document = JSON.parse(readFileSync(DOCUMENT_FILE, 'utf8')) as Document;
const OPERATIONS = operations(document);
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 110);
const CUSTOMER = 'fuzz-customer';

/** Requests no HTTP client would send (request line, framing, header syntax). */
const RAW_REQUESTS: Array<[string, string]> = [
  ['garbage request line', 'HELLO\r\n\r\n'],
  // Node reads a request line without a version as HTTP/0.9; a write that way still needs a token.
  ['HTTP/0.9 write', 'DELETE /products/1\r\n\r\n'],
  ['unknown protocol version', 'GET /products HTTP/9.9\r\nHost: x\r\n\r\n'],
  ['header without a colon', 'GET /products HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
  ['NUL in a header value', 'GET /products HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\u0000b\r\n\r\n'],
  ['obsolete line folding', 'GET /products HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n b\r\n\r\n'],
  ['space before the colon', 'GET /products HTTP/1.1\r\nHost : x\r\n\r\n'],
  ['20 KB header', `GET /products HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['Content-Length and Transfer-Encoding (smuggling)', 'POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /internal/reservations HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['two Content-Lengths', 'POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ['negative Content-Length', 'POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}'],
  ['broken chunk size', 'POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['absolute-form target to another host', 'GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['absolute-form target to an internal route', 'POST http://product-service/internal/reservations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'],
  ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'],
  ['asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['no Host header', 'GET /products HTTP/1.1\r\n\r\n'],
  ['raw non-ASCII path', 'GET /products/\u00ff\u00fe HTTP/1.1\r\nHost: x\r\n\r\n'],
];

/** Requests sent and statuses seen, printed at the end. */
const stats = { requests: 0, byStatus: new Map<number, number>(), slowestMs: 0, started: Date.now() };

describe('hostile input through the gateway', () => {
  let platform: FuzzPlatform;
  let fixtures: Fixtures;
  let factory: RequestFactory;
  const invariants = new Invariants(document);

  async function send(request: WireRequest): Promise<WireResponse> {
    const response = await exchange(platform.url, request, DEADLINE_MS);
    stats.requests++;
    stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
    stats.slowestMs = Math.max(stats.slowestMs, response.ms);
    return response;
  }

  /** Sends one request and checks every invariant on its answer and on the writes it left. */
  async function attack(request: FuzzRequest): Promise<Violation[]> {
    const response = await send(request);
    return invariants.check(request, response, await platform.writes());
  }

  async function json(method: string, target: string, token: string, body?: unknown): Promise<WireResponse & { body: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await send({ method, target, headers, body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)) });
    return { ...response, body: response.text ? JSON.parse(response.text) : undefined };
  }

  beforeAll(async () => {
    platform = await FuzzPlatform.start();
    const { admin, customer } = await tokens(CUSTOMER);
    const productIds: number[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await json('POST', '/products', admin, { name: `fuzz product ${i}`, price: '9.99', stock: 1_000_000 });
      if (created.status !== 201) throw new Error(`fixture product: ${created.status} ${created.text}`);
      productIds.push(created.body.id);
    }
    const own: string[] = [];
    for (const [target, user] of [['/orders', customer], ['/orders', customer], ['/orders/async', customer]] as const) {
      const placed = await json('POST', target, user, { user_id: CUSTOMER, items: [{ product_id: productIds[0], quantity: 1 }] });
      if (placed.status >= 300) throw new Error(`fixture order: ${placed.status} ${placed.text}`);
      own.push(placed.body.id);
    }
    const other = await json('POST', '/orders', admin, { user_id: 'someone-else', items: [{ product_id: productIds[1], quantity: 1 }] });
    if (other.status !== 201) throw new Error(`fixture order: ${other.status} ${other.text}`);
    fixtures = {
      productIds,
      ownOrderIds: own,
      otherOrderIds: [other.body.id],
      customerId: CUSTOMER,
      tokens: { admin, customer },
      badCredentials: await badCredentials(),
      forgedIdentity: (await identityHeaders(ADMIN))['x-eshop-identity']!,
    };
    factory = new RequestFactory(document, fixtures);
    await platform.writes();
  }, 120_000);

  afterAll(async () => {
    closeConnections();
    await platform?.stop();
    const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(
      `hostile-input suite: seed ${FUZZ_SEED}, ${RUNS_PER_OPERATION} runs per operation × ${OPERATIONS.length} operations; ` +
        `${stats.requests} requests in ${((Date.now() - stats.started) / 1000).toFixed(1)} s, slowest ${stats.slowestMs} ms; statuses ${statuses}`,
    );
  });

  it('the gateway serves the committed OpenAPI document to anyone', async () => {
    const served = await send({ method: 'GET', target: '/openapi.json', headers: {} });
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(served.text)).toEqual(document);
  });

  it('a valid request does change state, and the ledger and the snapshot both see it (so the checks can fail)', async () => {
    const { admin, customer } = fixtures.tokens;
    const before = await platform.snapshot();
    const created = await json('POST', '/products', admin, { name: 'changes state', price: '1.00', stock: 5 });
    expect(created.status).toBe(201);
    expect(await platform.writes()).toEqual(expect.arrayContaining([{ db: 'product', table: 'products', op: 'insert' }]));
    const ordered = await json('POST', '/orders', customer, { user_id: CUSTOMER, items: [{ product_id: created.body.id, quantity: 2 }] });
    expect(ordered.status).toBe(201);
    expect(await platform.writes()).toEqual(
      expect.arrayContaining([
        { db: 'product', table: 'products', op: 'update' },
        { db: 'order', table: 'orders', op: 'insert' },
      ]),
    );
    const after = await platform.snapshot();
    expect(after.products).toHaveLength(before.products.length + 1);
    expect(after.products.find((p: any) => Number(p.id) === created.body.id)).toMatchObject({ stock: 3 });
    expect(after.orders).toHaveLength(before.orders.length + 1);
    expect(after.productEventsEnqueued).toBeGreaterThan(before.productEventsEnqueued);
    expect(after.orderEventsEnqueued).toBeGreaterThan(before.orderEventsEnqueued);
    // …and the same requests made wrong are caught by the invariants (the rule, not just "something").
    const violations = invariants.check(
      { label: 'a write the document forbids', method: 'POST', target: '/products', headers: {}, caller: 'admin', mustReject: true },
      { status: 201, headers: { 'x-request-id': 'x' }, text: '{}', ms: 1 },
      [{ db: 'product', table: 'products', op: 'insert' }],
    );
    expect(violations.map((v) => v.rule)).toEqual(['rejected']);
    const refused = invariants.check(
      { label: 'a refused write that wrote', method: 'POST', target: '/products', headers: {}, caller: 'admin', mustReject: true },
      { status: 400, headers: { 'x-request-id': 'x', 'content-type': 'application/problem+json' }, text: '{"status":400,"code":"x"}', ms: 1 },
      [{ db: 'product', table: 'products', op: 'insert' }],
    );
    expect(refused.map((v) => v.rule)).toEqual(['no state change']);
  });

  it.each(OPERATIONS.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))(
    '%s: hostile requests get documented refusals, never a 5xx or a hang, and refused ones change nothing',
    async (_name, op) => {
      const violations: Violation[] = [];
      await fc.assert(
        fc.asyncProperty(factory.hostile(op), async (request) => {
          violations.push(...(await attack(request)));
        }),
        { seed: FUZZ_SEED, numRuns: RUNS_PER_OPERATION },
      );
      expect(report(violations)).toEqual([]);
    },
    120_000,
  );

  it('300 requests the document forbids, across every operation, are all refused and leave both databases exactly as they were', async () => {
    const forbidden = fc.oneof(...OPERATIONS.map((op) => factory.hostile(op).filter((request) => request.mustReject)));
    const requests = fc.sample(forbidden, { seed: FUZZ_SEED + 1, numRuns: 300 });
    await platform.writes();
    const before = await platform.snapshot();
    const violations: Violation[] = [];
    for (const request of requests) violations.push(...(await attack(request)));
    const after = await platform.snapshot();
    expect(report(violations)).toEqual([]);
    expect(after).toEqual(before);
  }, 120_000);

  /** Requests no HTTP client would send: the server must answer 4xx or close, promptly, and change nothing. */
  it.each(RAW_REQUESTS)('malformed HTTP (%s): a 4xx or a closed connection within the deadline, no writes', async (_label, bytes) => {
    const response = await rawExchange(platform.url, Buffer.from(bytes, 'latin1'), DEADLINE_MS);
    stats.requests++;
    expect({ failure: response.failure }).not.toEqual({ failure: 'timeout' });
    if (response.status !== 0) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    expect(await platform.writes()).toEqual([]);
  });
});

/** One line per broken rule, with the request and the answer, grouped so that one bug is one entry. */
function report(violations: Violation[]): string[] {
  const seen = new Map<string, string>();
  for (const v of violations) {
    const key = `${v.rule} | ${v.request.operation?.operationId ?? v.request.method} | ${v.detail.replace(/\d+/g, 'N').slice(0, 80)}`;
    if (seen.has(key)) continue;
    const body = v.request.body === undefined ? '' : ` body=${preview(v.request.body.toString('utf8'))}`;
    const headers = Object.entries(v.request.headers)
      .map(([k, value]) => `${k}: ${k === 'authorization' ? `${value.slice(0, 24)}…` : preview(value)}`)
      .join('; ');
    seen.set(
      key,
      `[${v.rule}] ${v.detail}\n    ${v.request.method} ${preview(v.request.target)} (${v.request.label}; caller ${v.request.caller})\n    headers ${headers}${body}\n    → ${v.response.status} ${v.response.headers['content-type'] ?? ''} ${preview(v.response.text)}`,
    );
  }
  return [...seen.values()];
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
