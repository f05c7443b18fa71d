import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { identityFromGateway } from './auth';
import type { HttpServerLimits } from './config';
import { currentContext, inCapturedContext, withContext } from './context';
import { traceLogFields } from './trace-context';
import { AppError, notFoundHandler, payloadTooLarge, problemHandler, problemType, PROBLEM_CONTENT_TYPE } from './errors';
import { withTimeout, type ServiceState } from './lifecycle';
import type { Metrics } from './metrics';

/** A dependency /readyz checks, e.g. the database or the Kafka cluster. */
/**
 * One dependency /readyz looks at. The rule (docs/reliability.md#readiness): a process is unready when it cannot serve
 * what it is for — its own database, always; Kafka only for the consumers, whose work arrives through it. A dependency
 * its requests do not need synchronously (Kafka behind the outbox) is still checked and reported, with `critical:
 * false`, so a broker outage does not take every replica out of its Service.
 */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
  /** false: a failure shows in the body (`"failed"`) but /readyz stays 200. @default true */
  critical?: boolean;
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  state: ServiceState;
  readiness: ReadinessCheck[];
  /** Largest JSON body, e.g. `100kb`; larger → 413. */
  /** Largest request body in bytes (HTTP_BODY_LIMIT). */
  bodyLimit: number;
  /** Deepest nesting accepted in a JSON body (HTTP_JSON_MAX_DEPTH); deeper → 400 before parsing. */
  jsonMaxDepth: number;
  /**
   * GATEWAY_IDENTITY_SECRET of a service behind the gateway: each request's X-Eshop-Identity is verified
   * (identityOf(req) then names the caller). Unset for the gateway itself and for processes without a public API.
   */
  identitySecret?: string;
  /** Mounts the service's own routes. */
  routes: (app: Express) => void;
  /** Take the client address from X-Forwarded-For set by this many trusted proxies (true: one). Default false. */
  trustProxy?: boolean | number;
  /** Log one line per request at info (default true). */
  accessLog?: boolean;
  /**
   * Parse JSON request bodies (limited to `bodyLimit`) and answer 415 to non-JSON writes (default true).
   * A proxy turns it off so bodies stream through untouched and it enforces its own limit.
   */
  jsonBody?: boolean;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const READINESS_TIMEOUT_MS = 2000;

/** Request id from the caller (if well-formed) or a new one; carried in the log context and echoed back. */
function requestContext(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    withContext({ requestId }, next);
  };
}

function templateOf(baseUrl: string, route: unknown): string | undefined {
  const path = (route as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string') return undefined;
  // A router's root route (`router.get('/')` mounted at /products) is /products, not /products/.
  return baseUrl && path === '/' ? baseUrl : `${baseUrl}${path}`;
}

const matchedTemplates = new WeakMap<express.Request, string>();

/**
 * Notes the route template when the router matches it. Read at the end instead, a request that fails
 * inside a mounted router would be labelled with the router-relative path (`POST /` for a 409 on
 * `POST /orders`): Express has restored `req.baseUrl` by the time the app's error handler answers.
 */
function captureRouteTemplate(req: express.Request): void {
  let route: unknown = (req as { route?: unknown }).route;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const template = templateOf(req.baseUrl, value);
      if (template !== undefined) matchedTemplates.set(req, template);
    },
  });
}

/** Route template of the matched handler, so metrics never carry raw ids. */
export function routeTemplate(req: express.Request): string {
  const template = matchedTemplates.get(req) ?? templateOf(req.baseUrl, (req as { route?: unknown }).route);
  if (template !== undefined) return template;
  return req.baseUrl ? `${req.baseUrl}/*` : 'unmatched';
}

function httpMetrics(metrics: Metrics, logger: Logger, accessLog: boolean): RequestHandler {
  const duration = metrics.histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests handled by this service.',
    labelNames: ['method', 'route', 'status_code'] as const,
    exemplars: true,
  });
  const inFlight = metrics.gauge({
    name: 'http_server_requests_in_flight',
    help: 'HTTP requests currently being handled.',
  });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    // The request's log context and span are current here, not necessarily in the 'close' callback (the gateway's
    // fires in its pooled upstream socket's context, another request's): both are captured now.
    const context = currentContext();
    const trace = traceLogFields();
    captureRouteTemplate(req);
    inFlight.inc();
    res.once('close', () => {
      inFlight.dec();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeTemplate(req);
      const status = res.headersSent ? res.statusCode : 499;
      metrics.observeTraced(duration, { method: req.method, route, status_code: String(status) }, seconds, trace?.trace_id);
      if (accessLog && route !== '/metrics' && route !== '/healthz' && route !== '/readyz') {
        inCapturedContext(context, () =>
          logger.info(
            { ...trace, method: req.method, route, path: req.originalUrl, status, durationMs: Math.round(seconds * 1e4) / 10 },
            'request',
          ),
        );
      }
    });
    next();
  };
}

/** Bodies on writes must be JSON; anything else is a 415 rather than a confusing validation error. */
const requireJson: RequestHandler = (req, _res, next) => {
  if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') {
    next();
    return;
  }
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    next(
      new AppError({
        status: 415,
        code: 'unsupported_media_type',
        detail: 'request body must be application/json',
        headers: { 'Accept-Post': 'application/json' },
      }),
    );
    return;
  }
  next();
};

/**
 * Nesting depth of a JSON text, counted without parsing it: `[]` is 1, `{"a":[1]}` is 2. Brackets inside
 * strings do not count. Stops counting once past `max`: a hostile body costs one pass, never a deep parse.
 */
export function jsonDepthExceeds(text: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c /* backslash */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

function tooDeep(max: number): AppError {
  return new AppError({
    status: 400,
    code: 'json_too_deep',
    detail: `request body nests arrays and objects deeper than ${max} levels`,
    extensions: { max_depth: max },
  });
}

/**
 * Security headers for a JSON API (helmet): nothing may be framed, sniffed or loaded by a browser from a
 * response; HSTS because clients reach the API over TLS at the ingress.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  frameguard: { action: 'deny' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
});

/** Express app with the platform's standard middleware, health endpoints, metrics and problem handling. */
export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, metrics, state } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy === true ? 1 : (options.trustProxy ?? false));

  app.use(requestContext());
  app.use(httpMetrics(metrics, logger, options.accessLog ?? true));
  app.use(securityHeaders);
  app.use((_req, res, next) => {
    // While draining, ask keep-alive clients to reconnect elsewhere.
    if (state.phase === 'draining') res.setHeader('Connection', 'close');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ok = state.accepting;
    await Promise.all(
      options.readiness.map(async ({ name, check, critical = true }) => {
        try {
          await withTimeout(check(), READINESS_TIMEOUT_MS, `readiness check ${name}`);
          checks[name] = 'ok';
        } catch (err) {
          if (critical) ok = false;
          // The reason goes to the log; the body (public through the gateway) only names the check.
          checks[name] = 'failed';
          logger.warn({ err, check: name }, 'readiness check failed');
        }
      }),
    );
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', phase: state.phase, checks });
  });
  app.get('/metrics', metrics.handler());

  if (options.identitySecret !== undefined) app.use(identityFromGateway(options.identitySecret));

  if (options.jsonBody ?? true) {
    const maxDepth = options.jsonMaxDepth;
    const limit = options.bodyLimit;
    // A declared length over the limit is refused here, not by express.json: body-parser would first wait for the
    // whole body (however large, until HTTP_REQUEST_TIMEOUT_MS), while the problem handler drains a bounded amount.
    app.use((req, _res, next) => {
      const declared = Number(req.headers['content-length']);
      next(Number.isFinite(declared) && declared > limit ? payloadTooLarge(limit) : undefined);
    });
    app.use(requireJson);
    app.use(
      express.json({
        limit: options.bodyLimit,
        strict: true,
        type: ['application/json', 'application/*+json'],
        verify: (_req, _res, raw) => {
          if (jsonDepthExceeds(raw, maxDepth)) throw tooDeep(maxDepth);
        },
      }),
    );
  }

  options.routes(app);

  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}

export interface RunningHttpServer {
  readonly server: http.Server;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, then resolves; forcibly closes after `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

const CLIENT_ERRORS: Record<string, [status: number, title: string, code: string, detail: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request header block is larger than this server accepts'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request_timeout', 'the request was not received in time'],
};

/**
 * Requests Node's HTTP parser refuses before any middleware runs (malformed, oversized headers, too slow) get
 * the same application/problem+json answer as everything else instead of Node's bare status line.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  // A response already under way, or a peer that is gone: nothing sensible can be written.
  const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, title, code, detail] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad Request', 'malformed_request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ type: problemType(code), title, status, code, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Defaults of commonVariables, for callers (tests, tools) that do not load a config. */
export const DEFAULT_SERVER_LIMITS: HttpServerLimits = {
  httpJsonMaxDepth: 16,
  httpMaxHeaderBytes: 16384,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
};

/**
 * Listens on `port` (0 = any free port, as tests do). Slow clients are cut off: the headers must arrive within
 * httpHeadersTimeoutMs and the whole request within httpRequestTimeoutMs (Node answers 408 and closes), checked
 * every second; a header block over httpMaxHeaderBytes gets 431.
 */
export async function listen(app: Express, port: number, host = '0.0.0.0', limits: HttpServerLimits = DEFAULT_SERVER_LIMITS): Promise<RunningHttpServer> {
  const server = http.createServer(
    {
      maxHeaderSize: limits.httpMaxHeaderBytes,
      headersTimeout: limits.httpHeadersTimeoutMs,
      requestTimeout: Math.max(limits.httpRequestTimeoutMs, limits.httpHeadersTimeoutMs),
      connectionsCheckingInterval: 1000,
      // Longer than typical load balancer idle timeouts, so the LB closes idle connections first.
      keepAliveTimeout: 65_000,
    },
    app,
  );
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    server,
    port: actualPort,
    close: async (timeoutMs: number) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their in-flight responses finish; close them as they do.
      const reaper = setInterval(() => server.closeIdleConnections(), 50);
      try {
        await withTimeout(closed, timeoutMs, 'HTTP drain');
      } catch {
        server.closeAllConnections();
        await closed;
      } finally {
        clearInterval(reaper);
      }
    },
  };
}
