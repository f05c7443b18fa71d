/**
 * Who is calling, and how that travels from the gateway to the services.
 *
 * Clients authenticate at the gateway with a bearer JWT from the shop's identity provider (verified
 * there, see services/gateway/src/auth). The gateway then forwards the verified identity to the
 * product and order services as a short-lived JWT of its own in `X-Eshop-Identity`, signed with
 * GATEWAY_IDENTITY_SECRET, a key only the gateway and the services hold. A client's own copy of that
 * header never reaches a service (the gateway drops it), and a forged one, sent straight to a service,
 * fails the signature check: the services trust the gateway's signature, not the network.
 *
 * Authorization is the services' business: they know which order belongs to whom.
 */
import type { Request, RequestHandler } from 'express';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { AppError } from './errors';
import { env, type ConfigVariable } from './config';

export const ROLES = ['admin', 'customer'] as const;
export type Role = (typeof ROLES)[number];

/** A verified caller: the token's subject (the shop's user id) and the roles the platform knows. */
export interface Identity {
  userId: string;
  roles: Role[];
}

/** The header carrying the gateway-signed identity; the gateway strips any client-sent copy. */
export const IDENTITY_HEADER = 'x-eshop-identity';
const IDENTITY_ISSUER = 'api-gateway';
const IDENTITY_AUDIENCE = 'eshop-internal';
/** Lifetime of a forwarded identity: long enough for clock skew between pods, too short to be worth stealing. */
export const IDENTITY_TTL_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 30;

/** A user id as orders store it; a token subject that is not one is refused at the gateway. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** HMAC keys: at least 32 characters (256 bits of a random alphabet string or more). */
export function secretVariable(name: string, doc: string): ConfigVariable<string> {
  return {
    ...env.string(name, { doc, secret: true }),
    schema: z.string().min(32, 'must be at least 32 characters (generate one with `openssl rand -base64 48`)'),
  };
}

/** GATEWAY_IDENTITY_SECRET, read by the gateway (to sign) and the product and order services (to verify). */
export const identitySecretVariable = secretVariable(
  'GATEWAY_IDENTITY_SECRET',
  'HMAC key the gateway signs the forwarded caller identity (X-Eshop-Identity) with and the services verify; from a Kubernetes Secret, the same in all three.',
);

const key = (secret: string) => new TextEncoder().encode(secret);

/** Roles named in a claim value, keeping only the platform's; anything else is ignored. */
export function rolesFrom(claim: unknown): Role[] {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/[\s,]+/) : [];
  return ROLES.filter((role) => values.includes(role));
}

/** The gateway's forwarded identity, signed for the services. */
export function signIdentity(identity: Identity, secret: string): Promise<string> {
  return new SignJWT({ roles: identity.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(IDENTITY_ISSUER)
    .setAudience(IDENTITY_AUDIENCE)
    .setSubject(identity.userId)
    .setIssuedAt()
    .setExpirationTime(`${IDENTITY_TTL_SECONDS}s`)
    .sign(key(secret));
}

/** Verifies a forwarded identity; throws 401 `invalid_identity` when it is not the gateway's. */
export async function verifyIdentity(token: string, secret: string): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, key(secret), {
      algorithms: ['HS256'],
      issuer: IDENTITY_ISSUER,
      audience: IDENTITY_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
      maxTokenAge: `${IDENTITY_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS}s`,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (!payload.sub || !USER_ID_PATTERN.test(payload.sub)) throw new joseErrors.JWTClaimValidationFailed('bad subject', payload, 'sub');
    return { userId: payload.sub, roles: rolesFrom(payload['roles']) };
  } catch (err) {
    throw new AppError({
      status: 401,
      code: 'invalid_identity',
      detail: `${IDENTITY_HEADER} was not issued by the gateway; call the API through the gateway`,
      cause: err,
    });
  }
}

/** A client access token signed with a shared secret (HS256): local development, kind, tests and `token` command. */
export function mintAccessToken(options: {
  secret: string;
  issuer: string;
  audience: string;
  sub: string;
  roles: Role[];
  ttlSeconds?: number;
}): Promise<string> {
  return new SignJWT({ roles: options.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 3600}s`)
    .sign(key(options.secret));
}

const identities = new WeakMap<Request, Identity>();

/**
 * Reads the gateway-signed identity of each request, if any: no header is an anonymous caller; a header
 * that fails verification is a 401 (a forged or replayed identity is never treated as anonymous).
 */
export function identityFromGateway(secret: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers[IDENTITY_HEADER];
    if (header === undefined) {
      next();
      return;
    }
    if (typeof header !== 'string') {
      next(new AppError({ status: 401, code: 'invalid_identity', detail: `${IDENTITY_HEADER} must appear once` }));
      return;
    }
    verifyIdentity(header, secret).then(
      (identity) => {
        identities.set(req, identity);
        next();
      },
      next,
    );
  };
}

/** The caller of this request, or undefined for an anonymous one. */
export function identityOf(req: Request): Identity | undefined {
  return identities.get(req);
}

export const isAdmin = (identity: Identity | undefined): boolean => identity?.roles.includes('admin') ?? false;

function unauthenticated(): AppError {
  return new AppError({
    status: 401,
    code: 'unauthenticated',
    detail: 'this operation needs a signed-in caller: send Authorization: Bearer <access token>',
    headers: { 'WWW-Authenticate': 'Bearer realm="eshop"' },
  });
}

export function forbidden(detail: string): AppError {
  return new AppError({ status: 403, code: 'forbidden', detail });
}

/** The caller, who must be signed in with one of the platform's roles; 401 or 403 otherwise. */
export function requireIdentity(req: Request): Identity {
  const identity = identityOf(req);
  if (!identity) throw unauthenticated();
  if (identity.roles.length === 0) throw forbidden(`the access token grants none of the roles ${ROLES.join(', ')}`);
  return identity;
}

/** The caller, who must hold `role`; 401 when anonymous, 403 otherwise. */
export function requireRole(req: Request, role: Role): Identity {
  const identity = requireIdentity(req);
  if (!identity.roles.includes(role)) throw forbidden(`this operation needs the ${role} role`);
  return identity;
}
