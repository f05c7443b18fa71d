import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { currentContext } from './context';
import { isTransientDatabaseError } from './db';
import { drainRequestBody } from './request-drain';

export interface FieldProblem {
  /** Path of the offending field, e.g. `price` or `items[0].quantity`. */
  field: string;
  message: string;
  code: string;
}

export interface AppErrorOptions {
  status: number;
  /** Stable, machine-readable identifier, e.g. `validation_failed`, `insufficient_stock`. */
  code: string;
  title?: string;
  detail?: string;
  /** The first offending field for validation errors. */
  field?: string;
  errors?: FieldProblem[];
  headers?: Record<string, string>;
  /** Extra members for the problem body (e.g. `allowed` next states). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The one application error type; the problem handler turns it into application/problem+json. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly field?: string;
  readonly errors?: FieldProblem[];
  readonly headers?: Record<string, string>;
  readonly extensions?: Record<string, unknown>;

  constructor(options: AppErrorOptions) {
    super(options.detail ?? options.title ?? options.code, { cause: options.cause });
    this.name = 'AppError';
    this.status = options.status;
    this.code = options.code;
    this.title = options.title ?? TITLES[options.status] ?? 'Error';
    this.field = options.field ?? options.errors?.[0]?.field;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  static notFound(what: string, id: string | number): AppError {
    return new AppError({ status: 404, code: 'not_found', detail: `${what} ${id} does not exist` });
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem type URI for a code; stable so clients can switch on it. */
export function problemType(code: string): string {
  return `urn:eshop:problem:${code.replace(/_/g, '-')}`;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  field?: string;
  errors?: FieldProblem[];
  request_id?: string;
  [key: string]: unknown;
}

export function toProblem(error: AppError, instance?: string): ProblemBody {
  const requestId = currentContext()?.requestId;
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(error.field ? { field: error.field } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** 413 for a body over HTTP_BODY_LIMIT (`limit` bytes), the same from the gateway and every service. */
export function payloadTooLarge(limit: number, headers?: Record<string, string>): AppError {
  return new AppError({
    status: 413,
    code: 'payload_too_large',
    detail: `request body exceeds the limit of ${limit} bytes`,
    extensions: { limit_bytes: limit },
    ...(headers ? { headers } : {}),
  });
}

/** Maps errors raised by express.json() (body-parser) to problems a client can act on. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number }): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError({ status: 400, code: 'malformed_json', detail: 'request body is not valid JSON' });
    case 'entity.too.large':
      // A chunked body (no declared length) found over the limit while reading.
      return typeof err.limit === 'number'
        ? payloadTooLarge(err.limit)
        : new AppError({ status: 413, code: 'payload_too_large', detail: 'request body exceeds the limit' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError({ status: 415, code: 'unsupported_encoding', detail: 'unsupported body encoding or charset' });
    case 'request.aborted':
      return new AppError({ status: 400, code: 'request_aborted', detail: 'client aborted the request' });
    default:
      return undefined;
  }
}

/**
 * Other client errors raised inside Express and its parsers (a malformed percent-escape in the path,
 * a corrupt gzip body, …) carry a 4xx `status` and `expose: true`: they are the client's fault, not a 500.
 */
function fromClientError(err: { status?: unknown; statusCode?: unknown; expose?: unknown }): AppError | undefined {
  const status = typeof err.status === 'number' ? err.status : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (status === undefined || status < 400 || status > 499) return undefined;
  if (err instanceof URIError) {
    return new AppError({ status: 400, code: 'malformed_path', detail: 'request path contains an invalid percent-encoding' });
  }
  return new AppError({ status, code: 'bad_request', detail: 'the request could not be understood' });
}

/** Final error middleware: AppErrors become their problem; anything else a logged 500 with no internals. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let appError: AppError;
    if (err instanceof AppError) {
      appError = err;
    } else {
      const parsed = typeof err === 'object' && err !== null ? (fromBodyParser(err) ?? fromClientError(err)) : undefined;
      if (parsed) {
        appError = parsed;
      } else if (isTransientDatabaseError(err)) {
        // The database is restarting or unreachable: tell clients to come back (with their Idempotency-Key).
        logger.warn({ err, method: req.method, url: req.originalUrl }, 'database unavailable');
        appError = new AppError({
          status: 503,
          code: 'database_unavailable',
          detail: 'the service cannot reach its database; retry later',
          headers: { 'Retry-After': '5' },
        });
      } else {
        logger.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
        appError = new AppError({ status: 500, code: 'internal_error', detail: 'an unexpected error occurred' });
      }
    }
    if (appError.status >= 500 && err instanceof AppError) {
      logger.warn({ err: appError, cause: appError.cause }, appError.message);
    }
    const instance = req.originalUrl.split('?')[0];
    if (req.complete) {
      sendProblem(res, appError, instance);
      return;
    }
    // Refused before its body was read (413, 401, 429, 415, …): read the rest first, or the client — still
    // sending — would get a connection reset instead of this answer. Past the drain's bounds the connection closes.
    void drainRequestBody(req).then((drained) => {
      if (res.headersSent || res.destroyed) return;
      if (!drained) res.setHeader('Connection', 'close');
      sendProblem(res, appError, instance);
    });
  };
}

export function sendProblem(res: Parameters<RequestHandler>[1], error: AppError, instance?: string): void {
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.status(error.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(toProblem(error, instance)));
}

/** 404 for any path no router matched. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError({ status: 404, code: 'route_not_found', detail: `no route for ${req.method} ${req.path}` }));
};
