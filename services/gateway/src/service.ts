import {
  createHttpApp,
  createLogger,
  listen,
  Metrics,
  ServiceState,
  stopInOrder,
  type Logger,
} from '@eshop/common';
import { AccessTokenVerifier } from './auth/access-tokens';
import { mountGate } from './auth/gate';
import { type GatewayConfig } from './config';
import { mountOpenApi } from './http/openapi';
import { mountRoutes } from './http/routes';
import { Upstream } from './proxy/upstream';
import { UpstreamMetrics } from './proxy/upstream-metrics';

export const SERVICE_NAME = 'api-gateway';

export interface GatewayOptions {
  /** Defaults to a JSON logger at config.logLevel. */
  logger?: Logger;
  /** Shared with runMain so /readyz fails as soon as a signal arrives. */
  state?: ServiceState;
  /** Defaults to a fresh registry. */
  metrics?: Metrics;
  /** Interface to listen on (tests use 127.0.0.1). */
  host?: string;
}

export interface RunningGateway {
  readonly port: number;
  readonly metrics: Metrics;
  /** Stops accepting, lets proxied requests in flight finish, then closes the upstream pools. */
  stop(): Promise<void>;
}

/** Starts the API gateway in front of the product and order services. */
export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(SERVICE_NAME, config.logLevel);
  const metrics = options.metrics ?? new Metrics(SERVICE_NAME);
  const state = options.state ?? new ServiceState();
  state.set('starting');

  const upstreamMetrics = new UpstreamMetrics(metrics);
  const shared = {
    connections: config.upstreamConnections,
    connectTimeoutMs: config.connectTimeoutMs,
    breaker: { failureThreshold: config.breakerFailureThreshold, halfOpenAfterMs: config.breakerHalfOpenAfterMs },
    bodyLimit: config.httpBodyLimit,
    trustForwardedHeaders: config.trustForwardedHeaders,
    metrics: upstreamMetrics,
    logger,
  };
  const product = new Upstream({ ...shared, name: 'product-service', url: config.productServiceUrl });
  const order = new Upstream({ ...shared, name: 'order-service', url: config.orderServiceUrl });
  const upstreams = [product, order];
  const verifier = new AccessTokenVerifier(config, metrics);

  const app = createHttpApp({
    logger,
    metrics,
    state,
    bodyLimit: config.httpBodyLimit,
    jsonMaxDepth: config.httpJsonMaxDepth,
    // Client addresses (rate limits) come from X-Forwarded-For only when a trusted ingress sets it.
    trustProxy: config.trustForwardedHeaders,
    // Bodies stream to the services untouched; the gateway applies its own size limit.
    jsonBody: false,
    readiness: upstreams.map((upstream) => ({ name: upstream.name, check: () => upstream.checkReady() })),
    routes: (routes) => {
      mountOpenApi(routes);
      mountGate(routes, verifier, config, metrics);
      mountRoutes(
        routes,
        {
          product: { upstream: product, timeoutMs: config.productTimeoutMs },
          order: { upstream: order, timeoutMs: config.orderTimeoutMs },
        },
        { verifier, identitySecret: config.identitySecret },
      );
    },
  });

  let server;
  try {
    server = await listen(app, config.port, options.host ?? config.httpHost, config);
  } catch (err) {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
    throw err;
  }
  state.set('ready');
  logger.info(
    { port: server.port, productServiceUrl: config.productServiceUrl, orderServiceUrl: config.orderServiceUrl },
    'api gateway listening',
  );

  const drainMs = Math.max(1000, config.shutdownTimeoutMs - 1000);
  const http = server;
  return {
    port: http.port,
    metrics,
    stop: async () => {
      state.set('draining');
      await stopInOrder(logger, [
        ['http', () => http.close(drainMs)],
        ...upstreams.map((upstream): [string, () => Promise<void>] => [`upstream ${upstream.name}`, () => upstream.close()]),
      ]);
      state.set('stopped');
    },
  };
}
