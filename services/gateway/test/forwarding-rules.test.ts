import type { IncomingMessage } from 'node:http';
import { ConfigError } from '@eshop/common';
import { testAuthEnv, TEST_AUTH } from '@eshop/test-support';
import { allowedAlgorithms, loadGatewayConfig } from '../src/config';
import { hasDotSegment } from '../src/http/routes';
import { CircuitOpenError } from '../src/proxy/circuit-breaker';
import { clientResponseHeaders, upstreamRequestHeaders } from '../src/proxy/headers';
import { ClientGoneError, UpstreamTimeoutError, classifyUpstreamError, isUpstreamFailure, upstreamProblem } from '../src/proxy/upstream-errors';

function incoming(rawHeaders: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    headers[name] = headers[name] ? `${headers[name]}, ${rawHeaders[i + 1]}` : rawHeaders[i + 1]!;
  }
  return { rawHeaders, headers } as unknown as IncomingMessage;
}

const context = { requestId: 'rid-1', clientAddress: '10.0.0.7', protocol: 'http', trustForwarded: false, dropContentLength: false };

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

describe('request headers sent upstream', () => {
  it('keeps end-to-end headers with their spelling and duplicates, in order', () => {
    const req = incoming(['Accept', 'application/json', 'X-Tag', 'a', 'x-tag', 'b', 'If-Match', '"3"', 'Host', 'shop.example']);

    const headers = pairs(upstreamRequestHeaders(req, context));

    expect(headers.slice(0, 4)).toEqual([
      ['Accept', 'application/json'],
      ['X-Tag', 'a'],
      ['x-tag', 'b'],
      ['If-Match', '"3"'],
    ]);
    expect(headers).toContainEqual(['x-request-id', 'rid-1']);
    expect(headers).toContainEqual(['x-forwarded-for', '10.0.0.7']);
    expect(headers).toContainEqual(['x-forwarded-proto', 'http']);
    expect(headers).toContainEqual(['x-forwarded-host', 'shop.example']);
    expect(headers.map(([name]) => name.toLowerCase())).not.toContain('host');
  });

  it('drops hop-by-hop headers, Expect, and the client request id it replaces', () => {
    const req = incoming([
      'Connection', 'Upgrade, X-Secret',
      'Upgrade', 'websocket',
      'X-Secret', 's',
      'Transfer-Encoding', 'chunked',
      'Proxy-Connection', 'keep-alive',
      'Trailer', 'Expires',
      'Expect', '100-continue',
      'X-Request-Id', 'client-id',
      'Content-Type', 'application/json',
    ]);

    const names = pairs(upstreamRequestHeaders(req, { ...context, dropContentLength: true })).map(([n]) => n.toLowerCase());

    expect(names).toEqual(['content-type', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto']);
  });

  it('drops Content-Length only when the body is re-framed', () => {
    const req = incoming(['Content-Length', '12']);

    expect(upstreamRequestHeaders(req, context)).toContain('Content-Length');
    expect(upstreamRequestHeaders(req, { ...context, dropContentLength: true })).not.toContain('Content-Length');
  });
});

describe('response headers sent to the client', () => {
  it('drops hop-by-hop fields and keeps the rest, multi-valued ones included', () => {
    const headers = clientResponseHeaders({
      connection: 'keep-alive, x-internal',
      'keep-alive': 'timeout=65',
      'transfer-encoding': 'chunked',
      'x-internal': 'hop',
      'x-request-id': 'upstream-copy',
      etag: '"3"',
      'set-cookie': ['a=1', 'b=2'],
      'content-type': 'application/json',
    });

    expect(headers).toEqual({ etag: '"3"', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'application/json' });
  });
});

describe('path safety', () => {
  it.each([
    ['/products/../internal/reservations', true],
    ['/products/%2E%2e/internal', true],
    ['/orders/./1', true],
    ['/orders/..', true],
    ['/products/1.5', false],
    ['/products/..5', false],
    ['/products', false],
  ])('%s has a dot segment: %s', (path, expected) => {
    expect(hasDotSegment(path)).toBe(expected);
  });
});

describe('upstream failure classification', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ['the route timer firing', 'timeout', 504, new UpstreamTimeoutError(100)],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout', 504, coded('UND_ERR_HEADERS_TIMEOUT')],
    ['UND_ERR_BODY_TIMEOUT', 'timeout', 504, coded('UND_ERR_BODY_TIMEOUT')],
    ['ECONNREFUSED', 'connect', 502, coded('ECONNREFUSED')],
    ['ENOTFOUND', 'connect', 502, coded('ENOTFOUND')],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect', 502, coded('UND_ERR_CONNECT_TIMEOUT')],
    ['ECONNRESET', 'reset', 502, coded('ECONNRESET')],
    ['UND_ERR_SOCKET', 'reset', 502, coded('UND_ERR_SOCKET')],
    ['HPE_INVALID_CONSTANT', 'protocol', 502, coded('HPE_INVALID_CONSTANT')],
    ['an open circuit', 'breaker_open', 503, new CircuitOpenError(7)],
    ['an unknown error', 'other', 502, new Error('surprise')],
  ] as const)('%s is a %s failure answered with %d', (_name, kind, status, err) => {
    expect(classifyUpstreamError(err)).toBe(kind);
    const problem = upstreamProblem('order-service', classifyUpstreamError(err), err, 100);
    expect(problem.status).toBe(status);
    expect(problem.extensions).toEqual({ upstream: 'order-service' });
    expect(problem.message).toContain('order-service');
  });

  it('tells the client when to retry while the breaker is open', () => {
    const problem = upstreamProblem('product-service', 'breaker_open', new CircuitOpenError(7), 100);

    expect(problem.headers).toEqual({ 'Retry-After': '7' });
    expect(problem.code).toBe('upstream_unavailable');
  });

  it('feeds the breaker with transport failures only, not with clients leaving', () => {
    expect(isUpstreamFailure(coded('ECONNREFUSED'))).toBe(true);
    expect(isUpstreamFailure(new UpstreamTimeoutError(5))).toBe(true);
    expect(isUpstreamFailure(new ClientGoneError())).toBe(false);
  });
});

describe('gateway configuration', () => {
  it('defaults to the documented ports, URLs and limits', () => {
    const config = loadGatewayConfig(testAuthEnv());

    expect(config).toMatchObject({
      port: 8080,
      productServiceUrl: 'http://127.0.0.1:8081',
      orderServiceUrl: 'http://127.0.0.1:8082',
      productTimeoutMs: 5000,
      orderTimeoutMs: 10000,
      breakerFailureThreshold: 5,
      breakerHalfOpenAfterMs: 10000,
      upstreamConnections: 64,
      httpBodyLimit: 102400,
      authIssuer: TEST_AUTH.issuer,
      authAudience: 'eshop-api',
      authJwksUrl: undefined,
      rateLimitWindowMs: 60000,
      rateLimitPerIp: 1200,
      rateLimitPerIdentity: 600,
    });
    expect(allowedAlgorithms(config)).toEqual(['HS256']);
  });

  it('refuses to start without a key source for access tokens, or with two, or with a short secret', () => {
    const { AUTH_JWT_SECRET: _secret, ...withoutKeys } = testAuthEnv();
    expect(() => loadGatewayConfig(withoutKeys)).toThrow(/AUTH_JWKS_URL or AUTH_JWT_SECRET is required/);
    expect(() => loadGatewayConfig({ ...testAuthEnv(), AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' })).toThrow(/both set/);
    const short = () => loadGatewayConfig({ ...testAuthEnv(), AUTH_JWT_SECRET: 'short', GATEWAY_IDENTITY_SECRET: 'also-short' });
    expect(short).toThrow(/AUTH_JWT_SECRET must be at least 32 characters/);
    expect(short).toThrow(/GATEWAY_IDENTITY_SECRET must be at least 32 characters/);
    // Secrets are never echoed back in the error.
    expect(short).not.toThrow(/also-short/);
  });

  it('takes a JWKS URL with the asymmetric default algorithms, and an explicit allow-list', () => {
    const { AUTH_JWT_SECRET: _secret, ...env } = testAuthEnv();
    const jwks = loadGatewayConfig({ ...env, AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' });
    expect(allowedAlgorithms(jwks)).toEqual(['RS256', 'ES256']);
    expect(allowedAlgorithms(loadGatewayConfig({ ...env, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_JWT_ALGORITHMS: 'PS256, EdDSA' }))).toEqual(['PS256', 'EdDSA']);
    expect(() => loadGatewayConfig({ ...env, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_JWT_ALGORITHMS: 'none' })).toThrow(/AUTH_JWT_ALGORITHMS must list algorithms/);
    // Algorithm confusion: an HMAC "signature" made with a public key must never verify.
    expect(() => loadGatewayConfig({ ...env, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(/must not list HS/);
    expect(() => loadGatewayConfig({ ...testAuthEnv(), AUTH_JWT_ALGORITHMS: 'RS256' })).toThrow(/only HS256/);
  });

  it('names every invalid variable at once', () => {
    const load = () =>
      loadGatewayConfig({
        PRODUCT_SERVICE_URL: 'product-service:8081',
        GATEWAY_ORDER_TIMEOUT_MS: 'soon',
        GATEWAY_UPSTREAM_CONNECTIONS: '0',
        HTTP_BODY_LIMIT: 'lots',
      });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PRODUCT_SERVICE_URL must be an http:\/\/ or https:\/\/ URL/);
    expect(load).toThrow(/GATEWAY_ORDER_TIMEOUT_MS must be an integer, got "soon"/);
    expect(load).toThrow(/GATEWAY_UPSTREAM_CONNECTIONS .*got "0"/);
    expect(load).toThrow(/HTTP_BODY_LIMIT must be a size such as 512, 100kb or 1mb/);
  });
});
