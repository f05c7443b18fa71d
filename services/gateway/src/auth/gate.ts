/**
 * What every API request passes before it is forwarded: the per-address rate limit (first, so a flood of
 * bad tokens is cheap to turn away), authentication of the bearer token, and the per-user rate limit.
 * Health, readiness and metrics are mounted before this and never limited.
 */
import { AppError, signIdentity, type Identity, type Metrics } from '@eshop/common';
import type { Express, Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { GatewayConfig } from '../config';
import type { AccessTokenVerifier } from './access-tokens';

const callers = new WeakMap<Request, Identity>();

/** The verified caller of a request, or undefined for an anonymous one. */
export function callerOf(req: Request): Identity | undefined {
  return callers.get(req);
}

/** The X-Eshop-Identity value the services get for this request's caller. */
export function forwardedIdentity(req: Request, secret: string): Promise<string> | undefined {
  const caller = callers.get(req);
  return caller ? signIdentity(caller, secret) : undefined;
}

const LIMITED = {
  ip: { name: 'gateway_rate_limited_address_total', help: 'Requests the gateway answered 429 because one client address exceeded RATE_LIMIT_PER_IP.' },
  identity: { name: 'gateway_rate_limited_identity_total', help: 'Requests the gateway answered 429 because one signed-in user exceeded RATE_LIMIT_PER_IDENTITY.' },
} as const;

type RateLimitSettings = Pick<GatewayConfig, 'rateLimitWindowMs' | 'rateLimitPerIp' | 'rateLimitPerIdentity'>;

function limiter(name: 'ip' | 'identity', limit: number, windowMs: number, key: (req: Request) => string | undefined, metrics: Metrics): RequestHandler {
  const limited = metrics.counter(LIMITED[name]);
  limited.inc(0);
  return rateLimit({
    windowMs,
    limit,
    identifier: `per-${name}`,
    // RateLimit and RateLimit-Policy headers (IETF draft 8) on every response; Retry-After on 429s.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => key(req) === undefined,
    keyGenerator: (req) => key(req)!,
    // Client-sent X-Forwarded-For is ignored on purpose unless GATEWAY_TRUST_FORWARDED_HEADERS is set.
    validate: { xForwardedForHeader: false },
    handler: (req, _res, next) => {
      limited.inc();
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
      next(
        new AppError({
          status: 429,
          code: 'rate_limited',
          detail: `too many requests from this ${name === 'ip' ? 'address' : 'user'}: at most ${limit} per ${windowMs / 1000} s; retry after ${retryAfter} s`,
          headers: { 'Retry-After': String(retryAfter) },
          extensions: { limit, window_seconds: windowMs / 1000, scope: name },
        }),
      );
    },
  });
}

/** Mounts the limits and authentication in front of the API routes. */
export function mountGate(app: Express, verifier: AccessTokenVerifier, limits: RateLimitSettings, metrics: Metrics): void {
  if (limits.rateLimitPerIp > 0) {
    app.use(limiter('ip', limits.rateLimitPerIp, limits.rateLimitWindowMs, (req) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown'), metrics));
  }
  app.use(async (req, _res, next) => {
    const caller = await verifier.identify(req.headers.authorization);
    if (caller) callers.set(req, caller);
    next();
  });
  if (limits.rateLimitPerIdentity > 0) {
    app.use(limiter('identity', limits.rateLimitPerIdentity, limits.rateLimitWindowMs, (req) => callers.get(req)?.userId, metrics));
  }
}
