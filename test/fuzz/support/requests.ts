/**
 * Hostile requests for each operation of the OpenAPI document: a request valid by the document (with ids
 * of real products and orders most of the time), then one thing about it made wrong — a value somewhere
 * in the body, a path or query parameter, a header, the body's bytes or media type, the credentials, the
 * method or the path. Each request says what the document lets one expect of it.
 */
import { createHash } from 'node:crypto';
import { TEST_AUTH } from '@eshop/test-support';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { HOSTILE_STRINGS, tamperedValue, trickyValue, validValue } from './arbitraries';
import type { WireRequest } from './http';
import { DocumentSchemas, operations, parameters, parameterSchemas, requestBodySchema, type Document, type JsonSchema, type Operation } from './openapi';

export interface Fixtures {
  /** Products that exist (some may be deleted or sold out by the suite's own valid requests). */
  productIds: number[];
  /** Orders of the customer, and of somebody else. */
  ownOrderIds: string[];
  otherOrderIds: string[];
  customerId: string;
  tokens: { admin: string; customer: string };
  /** Credentials that must never be accepted: each a set of request headers. */
  badCredentials: Array<{ label: string; headers: Record<string, string> }>;
  /** A forged X-Eshop-Identity naming an admin (signed with the real key: the gateway must drop it anyway). */
  forgedIdentity: string;
}

export type Caller = 'admin' | 'customer' | 'anonymous' | 'bad-credentials';

export interface FuzzRequest extends WireRequest {
  /** What was made wrong, for the report. */
  label: string;
  /** The documented operation the method and path name, if any. */
  operation?: Operation;
  caller: Caller;
  /** The request breaks the document (or the caller may not do it): any 2xx is a violation. */
  mustReject: boolean;
  /** The only acceptable statuses, when the document says exactly (e.g. 401 for bad credentials). */
  expectStatus?: number[];
  /** Parsed JSON body, when the body is JSON. */
  json?: unknown;
  query?: Record<string, string | string[]>;
  /** An Idempotency-Key the document accepts was sent (a refused order is then recorded for replay). */
  idempotencyKey?: string;
}

interface Parts {
  path: Record<string, string>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}

export class RequestFactory {
  private readonly strict: DocumentSchemas;
  private readonly coercing: DocumentSchemas;

  constructor(
    private readonly document: Document,
    private readonly fixtures: Fixtures,
  ) {
    this.strict = new DocumentSchemas(document);
    this.coercing = new DocumentSchemas(document, { coerceTypes: true });
  }

  /** Hostile requests for one operation. */
  hostile(op: Operation): fc.Arbitrary<FuzzRequest> {
    const hasBody = requestBodySchema(op) !== undefined;
    const hasQuery = parameterSchemas(this.document, op).query !== undefined;
    const hasPath = parameterSchemas(this.document, op).path !== undefined;
    const kinds: Array<fc.WeightedArbitrary<FuzzRequest>> = [
      { weight: 2, arbitrary: this.valid(op) },
      { weight: 2, arbitrary: this.wrongHeader(op) },
      { weight: 2, arbitrary: this.badCaller(op) },
      { weight: 1, arbitrary: this.wrongMethodOrPath(op) },
    ];
    if (hasBody) {
      kinds.push(
        { weight: 6, arbitrary: this.tamperedBody(op) },
        { weight: 3, arbitrary: this.hostileBodyBytes(op) },
        { weight: 2, arbitrary: this.wrongMediaType(op) },
      );
    }
    if (hasQuery) kinds.push({ weight: 6, arbitrary: this.tamperedQuery(op) }, { weight: 2, arbitrary: this.oddQueryString(op) });
    if (hasPath) kinds.push({ weight: 4, arbitrary: this.tamperedPath(op) });
    return fc.oneof(...kinds);
  }

  // ----------------------------------------------------------------------------------- valid parts

  /** Parts valid by the document, with real ids most of the time so requests get past "not found". */
  private parts(op: Operation): fc.Arbitrary<Parts> {
    const schemas = parameterSchemas(this.document, op);
    const body = requestBodySchema(op);
    return fc.record({
      path: this.pathParameters(op),
      query: schemas.query ? validValue(schemas.query, this.document).map((q) => this.withFixtures(q) as Record<string, unknown>) : fc.constant({}),
      headers: this.headerParameters(op),
      body: body ? validValue(body, this.document).chain((b) => fc.constantFrom(this.withFixtures(b), b)) : fc.constant(undefined),
    });
  }

  private pathParameters(op: Operation): fc.Arbitrary<Record<string, string>> {
    const names = parameters(this.document, op).filter((p) => p.in === 'path');
    const entries = names.map((p) => {
      const documented = validValue(p.schema as object, this.document).map(String);
      const real =
        op.path.startsWith('/products')
          ? fc.constantFrom(...this.fixtures.productIds.map(String))
          : fc.constantFrom(...this.fixtures.ownOrderIds, ...this.fixtures.otherOrderIds);
      return [p.name, fc.oneof({ weight: 3, arbitrary: real }, { weight: 1, arbitrary: documented })] as const;
    });
    return fc.record(Object.fromEntries(entries));
  }

  private headerParameters(op: Operation): fc.Arbitrary<Record<string, string>> {
    const names = parameters(this.document, op).filter((p) => p.in === 'header');
    const entries = names.map((p) => {
      const value =
        p.name === 'If-Match' ? fc.constantFrom('*', '"1"', '"2"', '"1", "2"', 'W/"1"') : validValue(p.schema as object, this.document).map(String);
      return [p.name.toLowerCase(), fc.option(value, { nil: undefined })] as const;
    });
    return fc.record(Object.fromEntries(entries)).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);
  }

  /** Real product ids for product_id and the customer's own id for user_id, wherever they appear. */
  private withFixtures(value: unknown): unknown {
    if (Array.isArray(value)) {
      const seen = new Set<number>();
      return value.map((v) => {
        const replaced = this.withFixtures(v) as Record<string, unknown>;
        // One line per product: a duplicate would be refused for a reason the fuzz did not choose.
        if (replaced && typeof replaced === 'object' && typeof replaced.product_id === 'number') {
          if (seen.has(replaced.product_id)) return v;
          seen.add(replaced.product_id);
        }
        return replaced;
      });
    }
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k === 'product_id') out[k] = this.fixtures.productIds[Math.abs(hash(JSON.stringify(v))) % this.fixtures.productIds.length];
        else if (k === 'user_id') out[k] = this.fixtures.customerId;
        else out[k] = this.withFixtures(v);
      }
      return out;
    }
    return value;
  }

  // --------------------------------------------------------------------------------------- kinds

  private valid(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), this.caller(op)).map(([parts, caller]) => this.build(op, parts, caller, 'valid by the document'));
  }

  private tamperedBody(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), this.caller(op)).chain(([parts, caller]) =>
      fc
        .oneof(
          { weight: 4, arbitrary: tamperedValue(parts.body) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>(...HOSTILE_STRINGS.slice(0, 6), null, [], 42, [parts.body]) },
          { weight: 1, arbitrary: fc.constant(withExtraField(parts.body)) },
          { weight: 1, arbitrary: fc.constant(nested(parts.body, 40)) },
        )
        .map((body) => this.build(op, { ...parts, body }, caller, `body ${preview(body)}`)),
    );
  }

  private hostileBodyBytes(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), fc.constantFrom(...HOSTILE_BODIES)).map(([parts, [label, bytes]]) => {
      const request = this.build(op, parts, 'admin', `body bytes: ${label}`);
      // RFC 8259 lets a parser ignore a byte order mark: what follows it decides.
      const mustReject = label !== 'BOM' || !createProductLike(op);
      return { ...request, body: bytes, json: undefined, mustReject };
    });
  }

  private wrongMediaType(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), fc.constantFrom(...MEDIA_TYPES)).map(([parts, [contentType, acceptable, unsupported]]) => {
      const request = this.build(op, parts, 'admin', `Content-Type: ${contentType ?? '(none)'}`);
      const headers = { ...request.headers };
      if (contentType === undefined) delete headers['content-type'];
      else headers['content-type'] = contentType;
      return { ...request, headers, mustReject: request.mustReject || !acceptable, expectStatus: unsupported ? [415] : request.expectStatus };
    });
  }

  private tamperedQuery(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), this.caller(op)).chain(([parts, caller]) =>
      fc
        .oneof(
          tamperedValue(parts.query).map((q) => (q && typeof q === 'object' && !Array.isArray(q) ? (q as Record<string, unknown>) : { q })),
          fc.tuple(fc.constantFrom('__proto__', 'constructor', 'limit[]', 'limit[gt]', '$where', 'userId', 'max-price', ''), fc.constantFrom(...HOSTILE_STRINGS)).map(
            ([k, v]) => ({ ...parts.query, [k]: v }),
          ),
        )
        .map((query) => this.build(op, { ...parts, query }, caller, `query ${preview(query)}`)),
    );
  }

  /** Query strings no object encodes to: repeated, empty and malformed parameters. */
  private oddQueryString(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), fc.constantFrom(...ODD_QUERIES)).map(([parts, query]) => {
      const request = this.build(op, { ...parts, query: {} }, 'admin', `query string ?${query}`);
      const parsed = new URLSearchParams(query);
      const keys = [...parsed.keys()];
      const repeated = keys.length !== new Set(keys).size;
      const documented = this.valid_(parameterSchemas(this.document, op).query!, Object.fromEntries(parsed), true);
      return { ...request, target: `${request.target.split('?')[0]}?${query}`, mustReject: repeated || !documented };
    });
  }

  private tamperedPath(op: Operation): fc.Arbitrary<FuzzRequest> {
    const [name] = Object.keys((parameterSchemas(this.document, op).path?.properties ?? {}) as object);
    return fc.tuple(this.parts(op), this.caller(op)).chain(([parts, caller]) =>
      fc
        .oneof(
          trickyValue(Number(parts.path[name!]) || parts.path[name!]).map((v) => encodeSegment(typeof v === 'string' ? v : JSON.stringify(v) ?? '')),
          fc.constantFrom(...RAW_PATH_SEGMENTS),
          fc.constantFrom(...(op.path.startsWith('/orders') ? ORDER_ID_NEAR_MISSES : PRODUCT_ID_NEAR_MISSES)).map(encodeURIComponent),
        )
        .filter((segment) => segment !== '' && !segment.includes('/'))
        .map((segment) => {
          const request = this.build(op, { ...parts, path: { ...parts.path, [name!]: decodeOrKeep(segment) } }, caller, `path ${name}=${segment}`);
          // The gateway refuses a path that is no route (a `.`/`..` segment: 404) or cannot be decoded (400)
          // before asking who calls.
          const dotSegment = ['.', '..'].includes(decodeOrKeep(segment.replace(/%2e/gi, '.')));
          const undecodable = decodeOrKeep(segment) === segment && segment.includes('%');
          const expectStatus = request.expectStatus && [...request.expectStatus, ...(dotSegment ? [404] : []), ...(undecodable ? [400] : [])];
          return { ...request, target: request.target.replace(encodeSegment(decodeOrKeep(segment)), segment), expectStatus };
        }),
    );
  }

  private wrongHeader(op: Operation): fc.Arbitrary<FuzzRequest> {
    const documented = parameters(this.document, op).filter((p) => p.in === 'header');
    const headerValues = fc.constantFrom(...HOSTILE_HEADER_VALUES);
    const choices: Array<fc.Arbitrary<[string, string]>> = [
      fc.tuple(fc.constant('x-request-id'), headerValues),
      fc.tuple(fc.constant('x-eshop-identity'), fc.constantFrom(this.fixtures.forgedIdentity, 'garbage', '')),
      fc.tuple(fc.constantFrom('x-forwarded-for', 'x-forwarded-host', 'forwarded', 'x-http-method-override', 'accept'), headerValues),
    ];
    for (const p of documented) choices.push(fc.tuple(fc.constant(p.name.toLowerCase()), headerValues));
    return fc.tuple(this.parts(op), this.caller(op), fc.oneof(...choices)).map(([parts, caller, [name, value]]) => {
      const request = this.build(op, { ...parts, headers: { ...parts.headers, [name]: value } }, caller, `header ${name}: ${preview(value)}`);
      if (name === 'x-eshop-identity' && caller === 'anonymous' && !op.anonymous) return { ...request, expectStatus: [401] };
      return request;
    });
  }

  private badCaller(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), fc.constantFrom(...this.fixtures.badCredentials)).map(([parts, credentials]) => {
      const request = this.build(op, parts, 'bad-credentials', `credentials: ${credentials.label}`);
      const headers = { ...request.headers, ...credentials.headers };
      return { ...request, headers, mustReject: true, expectStatus: [401] };
    });
  }

  /** Methods the document does not list on a path, and paths next to documented ones. */
  private wrongMethodOrPath(op: Operation): fc.Arbitrary<FuzzRequest> {
    return fc.tuple(this.parts(op), fc.constantFrom('PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'HEAD', 'GET', 'POST', 'PUT', 'DELETE'), fc.constantFrom(...PATH_NEIGHBOURS)).map(
      ([parts, method, neighbour]) => {
        const request = this.build(op, parts, 'admin', '');
        const path = request.target.split('?')[0]!;
        const item = this.document.paths?.[op.path] as Record<string, unknown> | undefined;
        const documentedMethod = item?.[method.toLowerCase()] !== undefined;
        if (neighbour === '' && documentedMethod) {
          // Another documented operation on the same path, with this operation's parts: checked as that operation.
          const other = operations(this.document).find((o) => o.path === op.path && o.method === method.toLowerCase());
          const same = other?.operationId === op.operationId;
          return {
            ...request,
            method,
            operation: other,
            label: `method ${method} ${path} (documented)`,
            mustReject: same ? request.mustReject : false,
            expectStatus: same ? request.expectStatus : undefined,
            idempotencyKey: same ? request.idempotencyKey : undefined,
          };
        }
        const target = neighbour === '' ? path : neighbour.startsWith('/') ? neighbour : `${path}${neighbour}`;
        // HEAD and OPTIONS are answered by Express for a route's GET; neither changes anything.
        const harmless = method === 'HEAD' || method === 'OPTIONS';
        return { ...request, method, target, operation: undefined, label: `method/path ${method} ${target}`, mustReject: !harmless, expectStatus: undefined };
      },
    );
  }

  // ------------------------------------------------------------------------------------ assembly

  private caller(_op: Operation): fc.Arbitrary<Caller> {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant<Caller>('admin') },
      { weight: 2, arbitrary: fc.constant<Caller>('customer') },
      { weight: 1, arbitrary: fc.constant<Caller>('anonymous') },
    );
  }

  private valid_(schema: JsonSchema, value: unknown, coerce: boolean): boolean {
    const validate = (coerce ? this.coercing : this.strict).compile(schema);
    return validate(structuredClone(value)) === true;
  }

  /** The request for these parts and caller, and what the document lets one expect of it. */
  private build(op: Operation, parts: Parts, caller: Caller, label: string): FuzzRequest {
    const schemas = parameterSchemas(this.document, op);
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeSegment(parts.path[name] ?? ''));
    const query = Object.fromEntries(
      Object.entries(parts.query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ) as Record<string, string>;
    const search = new URLSearchParams(query).toString();
    const headers: Record<string, string> = { ...parts.headers };
    if (caller === 'admin') headers.authorization = `Bearer ${this.fixtures.tokens.admin}`;
    if (caller === 'customer') headers.authorization = `Bearer ${this.fixtures.tokens.customer}`;
    let body: Buffer | undefined;
    if (requestBodySchema(op) && parts.body !== undefined) {
      body = Buffer.from(JSON.stringify(parts.body) ?? '');
      headers['content-type'] = 'application/json';
    }

    const bodyValid = requestBodySchema(op) === undefined || (parts.body !== undefined && this.valid_(requestBodySchema(op)!, parts.body, false));
    const queryValid = !schemas.query || this.valid_(schemas.query, query, true);
    const pathValid = !schemas.path || this.valid_(schemas.path, parts.path, true);
    const headerValid = !schemas.header || this.valid_(schemas.header, headerParams(op, this.document, headers), false);
    const forbidden = caller === 'customer' && this.customerMayNot(op, parts);
    const unauthenticated = caller === 'anonymous' && !op.anonymous;
    const idempotencyKey = schemas.header?.properties?.['Idempotency-Key'] && headerValid ? headers['idempotency-key'] : undefined;
    return {
      label,
      operation: op,
      method: op.method.toUpperCase(),
      target: search ? `${path}?${search}` : path,
      headers,
      body,
      json: parts.body,
      query,
      caller,
      mustReject: !bodyValid || !queryValid || !pathValid || !headerValid || forbidden || unauthenticated,
      expectStatus: unauthenticated ? [401] : undefined,
      idempotencyKey,
    };
  }

  /** What the contract keeps from a customer: the catalogue's writes, others' orders, status changes but cancel. */
  private customerMayNot(op: Operation, parts: Parts): boolean {
    if (op.path.startsWith('/products')) return op.method !== 'get';
    const body = parts.body as Record<string, unknown> | undefined;
    if (op.operationId === 'placeOrder' || op.operationId === 'placeOrderAsync') return body?.user_id !== undefined && String(body.user_id) !== this.fixtures.customerId;
    if (op.operationId === 'listOrders') return parts.query.user_id !== undefined && parts.query.user_id !== this.fixtures.customerId;
    if (op.operationId === 'getOrder' || op.operationId === 'changeOrderStatus') {
      const id = parts.path.id?.toLowerCase();
      if (this.fixtures.otherOrderIds.includes(id ?? '')) return true;
      if (op.operationId === 'changeOrderStatus') return body?.status !== 'cancelled';
    }
    return false;
  }
}

/** The BOM body is a valid createProduct body once the BOM is ignored. */
function createProductLike(op: Operation): boolean {
  return op.operationId === 'createProduct' || op.operationId === 'updateProduct';
}

function headerParams(op: Operation, document: Document, headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parameters(document, op).filter((p) => p.in === 'header')) {
    const value = headers[p.name.toLowerCase()];
    if (value !== undefined) out[p.name] = value;
  }
  return out;
}

function hash(text: string): number {
  return createHash('sha1').update(text).digest().readInt32BE(0);
}

function preview(value: unknown): string {
  const text = value === undefined ? '(none)' : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** encodeURIComponent, with lone surrogates (which it refuses) sent as U+FFFD like any UTF-8 encoder would. */
function encodeSegment(value: string): string {
  return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
}

function decodeOrKeep(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function withExtraField(body: unknown): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? { ...body, is_admin: true } : { extra: body };
}

/** `body` inside `depth` levels of arrays and objects. */
function nested(body: unknown, depth: number): unknown {
  let value = body;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

// ------------------------------------------------------------------------------------ fixed corpora

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

const HOSTILE_BODIES: ReadonlyArray<readonly [string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['{', Buffer.from('{')],
  ['truncated', Buffer.from('{"name":"x","price":"1.00","st')],
  ['trailing garbage', Buffer.from('{"name":"x"} trailing')],
  ['two documents', Buffer.from('{}{}')],
  ['bare string', Buffer.from('"hello"')],
  ['bare number', Buffer.from('42')],
  ['null', Buffer.from('null')],
  ['NaN', Buffer.from('{"stock":NaN}')],
  ['1e400', Buffer.from('{"name":"x","price":1e400,"stock":1e400,"status":1e400,"items":[{"product_id":1e400,"quantity":1e400}],"user_id":1e400}')],
  ['20-digit integers', Buffer.from('{"name":"x","price":"1","stock":12345678901234567890,"user_id":12345678901234567890,"items":[{"product_id":12345678901234567890,"quantity":1}]}')],
  ['duplicate keys', Buffer.from('{"name":"x","name":"","price":"1","price":"-1","stock":1,"stock":-1,"status":"paid","status":"x"}')],
  ['__proto__', Buffer.from('{"__proto__":{"admin":true},"name":"x","price":"1","stock":1}')],
  ['constructor.prototype', Buffer.from('{"constructor":{"prototype":{"admin":true}},"name":"x","price":"1","stock":1}')],
  ['NoSQL operators', Buffer.from('{"name":{"$ne":null},"price":{"$gt":0},"stock":{"$where":"1"},"user_id":{"$ne":""},"items":{"$size":1},"status":{"$in":["paid"]}}')],
  ['BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"x","price":"1","stock":1}')])],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])],
  ['UTF-16', Buffer.from('{"name":"x","price":"1","stock":1}', 'utf16le')],
  ['NUL bytes', Buffer.from('{"name":"a\u0000b"}\u0000')],
  ['lone surrogate', Buffer.from('{"name":"\\ud800","reason":"\\udfff","user_id":"\\ud800"}')],
  ['nested 10000 deep', Buffer.from(deep(10_000))],
  ['nested 17 deep in a field', Buffer.from(`{"name":${deep(17)},"price":"1","stock":1}`)],
  ['2 MB of spaces', Buffer.concat([Buffer.from('{"name":"x"'), Buffer.alloc(2 * 1024 * 1024, 0x20), Buffer.from('}')])],
  ['2 MB string', Buffer.from(`{"name":"${'x'.repeat(2 * 1024 * 1024)}"}`)],
  ['50k array items', Buffer.from(`{"user_id":"u","items":[${Array.from({ length: 50_000 }, () => '{"product_id":1,"quantity":1}').join(',')}]}`)],
];

/** Media types for a JSON body: whether the body may be sent with it, and whether it is not JSON at all (415). */
const MEDIA_TYPES: ReadonlyArray<readonly [string | undefined, boolean, boolean]> = [
  [undefined, false, true],
  ['text/plain', false, true],
  ['application/x-www-form-urlencoded', false, true],
  ['multipart/form-data; boundary=x', false, true],
  ['application/xml', false, true],
  ['text/json', false, true],
  ['*/*', false, true],
  // JSON, but not as sent: the body is UTF-8, and the parameter list or the type is broken.
  ['application/json; charset=utf-16', false, false],
  ['application/json; charset=iso-8859-1', false, false],
  ['application/json, text/plain', false, false],
  ['', false, false],
  ['application/', false, false],
  ['application/json; charset=utf-8', true, false],
  ['APPLICATION/JSON', true, false],
  ['application/merge-patch+json', true, false],
];

/** Query strings (without `?`) for list operations. */
const ODD_QUERIES: readonly string[] = [
  'limit=1&limit=2',
  'limit',
  'limit=',
  '=1',
  '&&&',
  'limit=%ZZ',
  'limit=%00',
  'q=%ZZ',
  'q=%00',
  'cursor=%FF%FE',
  'limit[]=1',
  'limit[gt]=1',
  '__proto__[admin]=1',
  'constructor[prototype][admin]=1',
  'status=paid&status=shipped',
  'user_id=a&user_id=b',
  `q=${'a'.repeat(8000)}`,
  'cursor=eyJhZnRlciI6MWU0MDB9',
  'cursor=eyJhZnRlciI6LTF9',
  'cursor=eyJiZWZvcmUiOiIuLi8uLi8ifQ',
  'cursor=bnVsbA',
  'cursor=e30',
  'cursor=W10',
  'cursor=!!!',
  'min_price=1e400',
  'min_price=-1',
  'max_price=0.001',
  'min_price=5&max_price=1',
  'limit=99999999999999999999',
  'limit=-1',
  'limit=0x10',
  'limit=1e2',
];

/** Path segments sent as they are (not encoded again). */
const RAW_PATH_SEGMENTS: readonly string[] = [
  '%ZZ',
  '%',
  '%00',
  '%2e%2e',
  '%2E',
  '..%2f..%2finternal',
  '%2F',
  '%C0%AE',
  '%F0%9F%98%80',
  '%FF',
  '1;jsessionid=x',
  '1%3B',
  'null',
  'undefined',
  'NaN',
  '%20',
  '1%0A',
  '*',
];

const PRODUCT_ID_NEAR_MISSES: readonly string[] = [
  '0',
  '-1',
  '1.0',
  '1e3',
  '01',
  '0x1',
  '+1',
  ' 1',
  '9007199254740992',
  '9999999999999999',
  '99999999999999999999999',
  '1 OR 1=1',
];

const ORDER_ID_NEAR_MISSES: readonly string[] = [
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '0190a0b0-c0d0-7e0f-8a0b-0c0d0e0f0a0',
  '0190a0b0-c0d0-7e0f-8a0b-0c0d0e0f0a0b0',
  '{0190a0b0-c0d0-7e0f-8a0b-0c0d0e0f0a0b}',
  '0190a0b0c0d07e0f8a0b0c0d0e0f0a0b',
  "' OR '1'='1",
  'async',
];

/** Header values a client can send (latin1, no control characters but tab). */
const HOSTILE_HEADER_VALUES: readonly string[] = [
  '',
  ' ',
  'x'.repeat(200),
  'x'.repeat(4000),
  '*',
  '"1"',
  'W/"1"',
  '"1", W/"2", *',
  '"',
  '""',
  '"abc"',
  '"99999999999"',
  '"-1"',
  'not-a-tag',
  "' OR 1=1 --",
  '\t',
  'ÿÿÿÿ',
  '<script>',
  '../../',
  '1.2.3.4, 5.6.7.8',
  'key with spaces',
  'a'.repeat(128),
  'a'.repeat(129),
];

/** Paths next to the documented ones (appended to the operation's path when they start without `/`). */
const PATH_NEIGHBOURS: readonly string[] = [
  '',
  '/',
  '/x',
  '/../../internal/reservations',
  '/%2e%2e/%2e%2e/internal/reservations',
  '//',
  '/internal/reservations',
  '/products/1/internal',
  '/orders/async/x',
  '/metrics/../products',
  '/.env',
  '/orders/00000000-0000-7000-8000-000000000000/status/x',
];

/** Credentials the gateway must refuse with 401, whatever the route. */
export async function badCredentials(now = Math.floor(Date.now() / 1000)): Promise<Fixtures['badCredentials']> {
  const secret = new TextEncoder().encode(TEST_AUTH.jwtSecret);
  const sign = (claims: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
  const base = { iss: TEST_AUTH.issuer, aud: TEST_AUTH.audience, sub: 'admin', roles: ['admin'], iat: now, exp: now + 3600 };
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const valid = await sign(base);
  const [header, payload] = valid.split('.');
  return [
    { label: 'expired an hour ago', headers: bearer(await sign({ ...base, iat: now - 7200, exp: now - 3600 })) },
    { label: 'signed with another key', headers: bearer(await sign(base, 'HS256', new TextEncoder().encode('attacker-chosen-secret-0123456789abcdef'))) },
    { label: 'alg none', headers: bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`) },
    { label: 'alg none with a signature', headers: bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${valid.split('.')[2]}`) },
    { label: 'HS512 (not allowed)', headers: bearer(await sign(base, 'HS512')) },
    { label: 'header claims RS256', headers: bearer(`${b64({ alg: 'RS256', typ: 'JWT' })}.${payload}.${valid.split('.')[2]}`) },
    { label: 'another issuer', headers: bearer(await sign({ ...base, iss: 'https://evil.example' })) },
    { label: 'another audience', headers: bearer(await sign({ ...base, aud: 'another-api' })) },
    { label: 'no subject', headers: bearer(await sign({ ...base, sub: undefined })) },
    { label: 'subject ../admin', headers: bearer(await sign({ ...base, sub: '../admin' })) },
    { label: 'subject of 65 characters', headers: bearer(await sign({ ...base, sub: 'a'.repeat(65) })) },
    { label: 'no expiry', headers: bearer(await sign({ ...base, exp: undefined })) },
    { label: 'not valid before an hour from now', headers: bearer(await sign({ ...base, nbf: now + 3600 })) },
    { label: 'payload tampered (customer → admin)', headers: bearer(`${header}.${b64({ ...base, sub: 'someone' })}.${valid.split('.')[2]}`) },
    { label: 'signature stripped', headers: bearer(`${header}.${payload}.`) },
    { label: 'Bearer without token', headers: { authorization: 'Bearer' } },
    { label: 'Bearer and a space', headers: { authorization: 'Bearer ' } },
    { label: 'garbage token', headers: bearer('not.a.jwt') },
    { label: 'two tokens', headers: { authorization: `Bearer ${valid} ${valid}` } },
    { label: 'Basic credentials', headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } },
    { label: 'token without scheme', headers: { authorization: valid } },
    { label: 'empty Authorization', headers: { authorization: '' } },
    { label: '8 KB token', headers: bearer(`${header}.${'A'.repeat(8000)}.${valid.split('.')[2]}`) },
  ];
}
