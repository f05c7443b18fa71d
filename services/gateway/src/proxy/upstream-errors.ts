import { AppError } from '@eshop/common';
import { CircuitOpenError } from './circuit-breaker';

/** Label values of gateway_upstream_errors_total{kind}. */
export const UPSTREAM_ERROR_KINDS = ['timeout', 'connect', 'reset', 'protocol', 'breaker_open', 'other'] as const;
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

/** Abort reason when the route timeout fires before the upstream starts answering. */
export class UpstreamTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/** The client went away; nothing to answer and nothing the upstream did wrong. */
export class ClientGoneError extends Error {
  constructor(cause?: unknown) {
    super('client closed the connection', { cause });
    this.name = 'ClientGoneError';
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Sorts a failed upstream call into a metric kind; the HTTP answer follows from the kind. */
export function classifyUpstreamError(err: unknown): UpstreamErrorKind {
  if (err instanceof CircuitOpenError) return 'breaker_open';
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (CONNECT_CODES.has(code)) return 'connect';
    if (RESET_CODES.has(code)) return 'reset';
    if (code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_HEADERS_OVERFLOW') {
      return 'protocol';
    }
  }
  return 'other';
}

/** Whether a failure says something about the upstream's health (and so feeds its circuit breaker). */
export function isUpstreamFailure(err: unknown): boolean {
  return !(err instanceof ClientGoneError) && !(err instanceof CircuitOpenError) && !(err instanceof AppError);
}

const BAD_GATEWAY_REASONS: Record<Exclude<UpstreamErrorKind, 'breaker_open' | 'timeout'>, string> = {
  connect: 'refused or did not accept the connection',
  reset: 'closed the connection before answering',
  protocol: 'sent an invalid HTTP response',
  other: 'could not be called',
};

/** The problem the client gets for a failed upstream call; each names the upstream. */
export function upstreamProblem(upstream: string, kind: UpstreamErrorKind, err: unknown, timeoutMs: number): AppError {
  const extensions = { upstream };
  switch (kind) {
    case 'breaker_open': {
      const retryAfter = err instanceof CircuitOpenError ? err.retryAfterSeconds : 1;
      return new AppError({
        status: 503,
        code: 'upstream_unavailable',
        detail: `${upstream} is failing; the gateway is not calling it for now (circuit breaker open)`,
        headers: { 'Retry-After': String(retryAfter) },
        extensions,
        cause: err,
      });
    }
    case 'timeout':
      return new AppError({
        status: 504,
        code: 'upstream_timeout',
        detail: `${upstream} did not answer within ${timeoutMs} ms`,
        extensions,
        cause: err,
      });
    default:
      return new AppError({
        status: 502,
        code: 'upstream_error',
        detail: `${upstream} ${BAD_GATEWAY_REASONS[kind]}`,
        extensions,
        cause: err,
      });
  }
}
