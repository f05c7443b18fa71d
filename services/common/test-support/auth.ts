/**
 * Test identities: fixed test-only secrets (never used outside tests), the environment a gateway or a
 * service needs to run with them, client access tokens for the gateway and signed identities for the
 * services behind it.
 */
import { IDENTITY_HEADER, mintAccessToken, signIdentity, type Identity, type Role } from '../src/auth';

export const TEST_AUTH = {
  jwtSecret: 'test-only-client-jwt-secret-0123456789abcdef',
  identitySecret: 'test-only-gateway-identity-secret-0123456789',
  issuer: 'eshop-test',
  audience: 'eshop-api',
} as const;

/** Gateway auth settings (a local HS256 issuer) plus the identity secret shared with the services. */
export function testAuthEnv(): Record<string, string> {
  return {
    AUTH_JWT_SECRET: TEST_AUTH.jwtSecret,
    AUTH_JWT_ISSUER: TEST_AUTH.issuer,
    AUTH_JWT_AUDIENCE: TEST_AUTH.audience,
    GATEWAY_IDENTITY_SECRET: TEST_AUTH.identitySecret,
  };
}

/** GATEWAY_IDENTITY_SECRET alone: what the product service and the order API need. */
export function serviceAuthEnv(): Record<string, string> {
  return { GATEWAY_IDENTITY_SECRET: TEST_AUTH.identitySecret };
}

/** A bearer token the test gateway accepts. */
export function accessToken(sub: string, roles: Role | Role[], ttlSeconds = 3600): Promise<string> {
  return mintAccessToken({
    secret: TEST_AUTH.jwtSecret,
    issuer: TEST_AUTH.issuer,
    audience: TEST_AUTH.audience,
    sub,
    roles: Array.isArray(roles) ? roles : [roles],
    ttlSeconds,
  });
}

export const ADMIN: Identity = { userId: 'admin', roles: ['admin'] };
export const customer = (userId: string): Identity => ({ userId, roles: ['customer'] });

/** The header a service accepts as "the gateway verified this caller". */
export async function identityHeaders(identity: Identity): Promise<Record<string, string>> {
  return { [IDENTITY_HEADER]: await signIdentity(identity, TEST_AUTH.identitySecret) };
}
