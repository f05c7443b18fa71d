import { z } from 'zod';
import { commonVariables, ConfigError, tracingVariables, env, identitySecretVariable, loadConfig, secretVariable, type ConfigOf, type ConfigVariable } from '@eshop/common';

/** An upstream origin: `z.url()` alone would accept `product-service:8081` (scheme `product-service:`). */
function httpUrl(name: string, options: { doc: string; default: string }): ConfigVariable<string> {
  return {
    ...env.url(name, options),
    schema: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL such as http://product-service:8081' }),
  };
}

/** A variable that may be left unset (empty): the value, or undefined. */
function optional<T>(variable: ConfigVariable<T>): ConfigVariable<T | undefined> {
  return { ...variable, default: '', schema: z.union([z.literal('').transform(() => undefined), variable.schema]) };
}

const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Every setting of the API gateway: env var, default and meaning (docs/gateway.md lists them). */
export const gatewayConfigDefinition = {
  port: env.port('API_GATEWAY_PORT', { doc: 'HTTP port of the public API (the single entry point).', default: 8080 }),
  productServiceUrl: httpUrl('PRODUCT_SERVICE_URL', {
    doc: 'Origin of the product service; /products and /products/* are forwarded to it.',
    default: 'http://127.0.0.1:8081',
  }),
  orderServiceUrl: httpUrl('ORDER_SERVICE_URL', {
    doc: 'Origin of the order service; /orders and /orders/* are forwarded to it.',
    default: 'http://127.0.0.1:8082',
  }),
  productTimeoutMs: env.integer('GATEWAY_PRODUCT_TIMEOUT_MS', {
    doc: 'Time the product service has to start answering a /products request (and the longest pause inside its body) before the client gets 504.',
    default: 5000,
    min: 1,
  }),
  orderTimeoutMs: env.integer('GATEWAY_ORDER_TIMEOUT_MS', {
    doc: 'Same for /orders; longer because placing an order reserves stock synchronously at the product service.',
    default: 10000,
    min: 1,
  }),
  connectTimeoutMs: env.integer('GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS', {
    doc: 'Time allowed to open a TCP connection to an upstream before the attempt counts as a connect failure (502).',
    default: 2000,
    min: 1,
  }),
  upstreamConnections: env.integer('GATEWAY_UPSTREAM_CONNECTIONS', {
    doc: 'Keep-alive connections pooled per upstream; requests beyond it queue (their wait counts against the route timeout).',
    default: 64,
    min: 1,
    max: 4096,
  }),
  breakerFailureThreshold: env.integer('GATEWAY_BREAKER_FAILURE_THRESHOLD', {
    doc: 'Consecutive transport failures (connect, reset, timeout) that open an upstream\'s circuit breaker.',
    default: 5,
    min: 1,
  }),
  breakerHalfOpenAfterMs: env.integer('GATEWAY_BREAKER_HALF_OPEN_AFTER_MS', {
    doc: 'How long an open breaker fails fast (503 with Retry-After) before one probe request is let through.',
    default: 10000,
    min: 1,
  }),
  trustForwardedHeaders: env.boolean('GATEWAY_TRUST_FORWARDED_HEADERS', {
    doc: 'Keep incoming X-Forwarded-For/-Proto/-Host (append to them) because a trusted ingress sits in front; when false they are replaced by what the gateway sees.',
    default: false,
  }),
  authIssuer: env.string('AUTH_JWT_ISSUER', {
    doc: 'Expected `iss` of client access tokens (your identity provider\'s issuer URL in production).',
    default: 'eshop-local',
  }),
  authAudience: env.string('AUTH_JWT_AUDIENCE', { doc: 'Expected `aud` of client access tokens.', default: 'eshop-api' }),
  authJwksUrl: optional(
    httpUrl('AUTH_JWKS_URL', {
      doc: 'JWKS endpoint of the identity provider (Cognito, Keycloak, Auth0 …) whose keys sign client tokens. Set this or AUTH_JWT_SECRET, not both.',
      default: '',
    }),
  ),
  authJwtSecret: optional(
    secretVariable('AUTH_JWT_SECRET', 'HS256 key of a local token issuer (development, kind, tests; mint tokens with `./local/platform.sh token`). Set this or AUTH_JWKS_URL, not both.'),
  ),
  authAlgorithms: {
    ...env.list('AUTH_JWT_ALGORITHMS', {
      doc: 'Allow-list of token signature algorithms; empty means HS256 with AUTH_JWT_SECRET and RS256,ES256 with AUTH_JWKS_URL. `none` is never accepted.',
      default: '',
    }),
    schema: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
      .pipe(z.array(z.enum(JWT_ALGORITHMS, { message: `must list algorithms among ${JWT_ALGORITHMS.join(', ')}` }))),
  } satisfies ConfigVariable<string[]>,
  authRolesClaim: env.string('AUTH_ROLES_CLAIM', {
    doc: 'Claim of the access token that lists the caller\'s roles (an array or a space-separated string); the platform knows admin and customer.',
    default: 'roles',
  }),
  identitySecret: identitySecretVariable,
  rateLimitWindowMs: env.integer('RATE_LIMIT_WINDOW_MS', {
    doc: 'Window of the gateway\'s rate limits.',
    default: 60000,
    min: 1000,
  }),
  rateLimitPerIp: env.integer('RATE_LIMIT_PER_IP', {
    doc: 'Requests one client address may make per window (all routes but health and metrics), per gateway replica; 0 turns the limit off. Over it: 429 with Retry-After.',
    default: 1200,
    min: 0,
  }),
  rateLimitPerIdentity: env.integer('RATE_LIMIT_PER_IDENTITY', {
    doc: 'Requests one signed-in user (token subject) may make per window, per gateway replica; 0 turns the limit off.',
    default: 600,
    min: 0,
  }),
  ...commonVariables,
  httpBodyLimit: commonVariables.httpBodyLimit,
  ...tracingVariables('api-gateway'),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigDefinition>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigDefinition, source);
  const keySources = [config.authJwksUrl, config.authJwtSecret].filter((v) => v !== undefined).length;
  if (keySources !== 1) {
    throw new ConfigError([
      keySources === 0
        ? 'AUTH_JWKS_URL or AUTH_JWT_SECRET is required: the gateway verifies every access token and cannot run without keys'
        : 'AUTH_JWKS_URL and AUTH_JWT_SECRET are both set: choose one key source',
    ]);
  }
  const symmetric = config.authAlgorithms.filter((alg) => alg.startsWith('HS'));
  if (config.authJwtSecret !== undefined && symmetric.length !== config.authAlgorithms.length) {
    throw new ConfigError(['AUTH_JWT_ALGORITHMS must list only HS256/HS384/HS512 with AUTH_JWT_SECRET (a shared secret cannot verify public-key signatures)']);
  }
  if (config.authJwksUrl !== undefined && symmetric.length > 0) {
    throw new ConfigError(['AUTH_JWT_ALGORITHMS must not list HS* algorithms with AUTH_JWKS_URL (a published key must never verify HMAC tokens)']);
  }
  return config;
}

/** The algorithm allow-list in force: AUTH_JWT_ALGORITHMS, or the default for the key source. */
export function allowedAlgorithms(config: Pick<GatewayConfig, 'authAlgorithms' | 'authJwtSecret'>): string[] {
  if (config.authAlgorithms.length > 0) return config.authAlgorithms;
  return config.authJwtSecret !== undefined ? ['HS256'] : ['RS256', 'ES256'];
}

