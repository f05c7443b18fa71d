/**
 * Client authentication at the gateway: bearer JWTs verified with jose against the configured issuer,
 * audience and algorithm allow-list, with keys from the identity provider's JWKS (production) or a local
 * shared secret (development, kind, tests). The verified caller then travels to the services as a
 * gateway-signed identity (@eshop/common auth.ts); the client's token itself never leaves the gateway.
 */
import { AppError, rolesFrom, USER_ID_PATTERN, type Identity, type Metrics } from '@eshop/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Counter } from 'prom-client';
import { allowedAlgorithms, type GatewayConfig } from '../config';

const CLOCK_TOLERANCE_SECONDS = 30;

/** Label values of gateway_auth_failures_total{reason}. */
export const AUTH_FAILURE_REASONS = ['missing', 'malformed', 'expired', 'invalid', 'keys_unavailable'] as const;
type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type AccessTokenSettings = Pick<
  GatewayConfig,
  'authIssuer' | 'authAudience' | 'authJwksUrl' | 'authJwtSecret' | 'authAlgorithms' | 'authRolesClaim'
>;

/** 401 with the RFC 6750 challenge; `error` is omitted when no token was sent at all. */
export function authenticationRequired(reason: AuthFailureReason, detail: string): AppError {
  const challenge = reason === 'missing' ? 'Bearer realm="eshop"' : `Bearer realm="eshop", error="invalid_token", error_description="${detail}"`;
  return new AppError({
    status: 401,
    code: reason === 'missing' ? 'unauthenticated' : 'invalid_token',
    detail,
    headers: { 'WWW-Authenticate': challenge },
    extensions: { reason },
  });
}

export class AccessTokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly failures: Counter<'reason'>;

  constructor(
    private readonly settings: AccessTokenSettings,
    metrics: Metrics,
  ) {
    this.algorithms = allowedAlgorithms(settings);
    this.key =
      settings.authJwtSecret !== undefined
        ? new TextEncoder().encode(settings.authJwtSecret)
        : // Keys are cached and refetched when a token names an unknown kid (key rotation), at most every 30 s.
          createRemoteJWKSet(new URL(settings.authJwksUrl!), { timeoutDuration: 3000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    this.failures = metrics.counter({
      name: 'gateway_auth_failures_total',
      help: 'Requests the gateway answered 401 because the access token was missing (where one is required), malformed, expired or not verifiable.',
      labelNames: ['reason'] as const,
    });
    for (const reason of AUTH_FAILURE_REASONS) this.failures.inc({ reason }, 0);
  }

  /** Counts a 401 the gateway sends for a route that needs a caller but got none. */
  missing(): AppError {
    this.failures.inc({ reason: 'missing' });
    return authenticationRequired('missing', 'this operation needs a signed-in caller: send Authorization: Bearer <access token>');
  }

  /**
   * The caller named by an Authorization header, or undefined when there is none. A header that is present
   * but wrong is always a 401 — a bad token never degrades to anonymous access.
   */
  async identify(authorization: string | undefined): Promise<Identity | undefined> {
    if (authorization === undefined) return undefined;
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i.exec(authorization);
    if (!match) throw this.fail('malformed', 'Authorization must be "Bearer <JWT>"');
    try {
      const { payload } = await jwtVerify(match[1]!, this.key as Uint8Array, {
        issuer: this.settings.authIssuer,
        audience: this.settings.authAudience,
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (!USER_ID_PATTERN.test(payload.sub ?? '')) throw this.fail('invalid', 'the token subject is not a valid user id');
      return { userId: payload.sub!, roles: rolesFrom(payload[this.settings.authRolesClaim]) };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof errors.JWTExpired) throw this.fail('expired', 'the access token has expired');
      if (this.keysUnavailable(err)) {
        this.failures.inc({ reason: 'keys_unavailable' });
        throw new AppError({
          status: 503,
          code: 'auth_unavailable',
          detail: 'the identity provider\'s keys cannot be fetched right now; retry later',
          headers: { 'Retry-After': '5' },
          cause: err,
        });
      }
      if (err instanceof errors.JOSEError) throw this.fail('invalid', 'the access token is not valid for this API');
      throw err;
    }
  }

  /** The JWKS endpoint timed out, was unreachable or answered something other than a key set. */
  private keysUnavailable(err: unknown): boolean {
    if (this.settings.authJwksUrl === undefined) return false;
    if (err instanceof errors.JWKSTimeout) return true;
    if (err instanceof TypeError && /fetch failed/.test(err.message)) return true;
    return err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message);
  }

  private fail(reason: AuthFailureReason, detail: string): AppError {
    this.failures.inc({ reason });
    return authenticationRequired(reason, detail);
  }
}
