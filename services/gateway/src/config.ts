import bytes from 'bytes';
import { z } from 'zod';
import { commonVariables, env, loadConfig, type ConfigOf, type ConfigVariable } from '@eshop/common';

/** An upstream origin: `z.url()` alone would accept `product-service:8081` (scheme `product-service:`). */
function httpUrl(name: string, options: { doc: string; default: string }): ConfigVariable<string> {
  return {
    ...env.url(name, options),
    schema: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL such as http://product-service:8081' }),
  };
}

/** HTTP_BODY_LIMIT as the services read it, checked here because the gateway converts it to bytes. */
const httpBodyLimit: ConfigVariable<string> = {
  ...commonVariables.httpBodyLimit,
  schema: z
    .string()
    .trim()
    .refine((value) => bytes.parse(value) !== null, 'must be a size such as 100kb, 1mb or 512'),
};

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
  ...commonVariables,
  httpBodyLimit,
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigDefinition>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(gatewayConfigDefinition, source);
}

/** HTTP_BODY_LIMIT in bytes, parsed like the services' JSON parser does (`100kb`, `1mb`, `512`). */
export function bodyLimitBytes(config: Pick<GatewayConfig, 'httpBodyLimit'>): number {
  const limit = bytes.parse(config.httpBodyLimit);
  if (limit === null) throw new Error(`HTTP_BODY_LIMIT ${JSON.stringify(config.httpBodyLimit)} is not a size`);
  return limit;
}
