import type { Express, RequestHandler } from 'express';
import { AppError } from '@eshop/common';
import type { AccessTokenVerifier } from '../auth/access-tokens';
import { callerOf, forwardedIdentity } from '../auth/gate';
import type { Upstream } from '../proxy/upstream';

export type UpstreamKey = 'product' | 'order';

/** Browsing the catalogue needs no account; everything else needs a signed-in caller. */
const READ_ONLY = ['GET', 'HEAD'] as const;

/**
 * The public API: every path the gateway forwards, as route templates (which also label the request
 * metrics), and the methods an anonymous caller may use (others get 401 here, before any upstream is
 * bothered). Methods are not filtered otherwise — the owning service answers 404/405 itself, and decides
 * what a signed-in caller may do (403). Anything else, /internal/* in particular, falls through to 404.
 */
export const ROUTES: ReadonlyArray<{ readonly template: string; readonly upstream: UpstreamKey; readonly anonymous?: readonly string[] }> = [
  { template: '/products', upstream: 'product', anonymous: READ_ONLY },
  { template: '/products/:id', upstream: 'product', anonymous: READ_ONLY },
  { template: '/products/*rest', upstream: 'product', anonymous: READ_ONLY },
  { template: '/orders', upstream: 'order' },
  { template: '/orders/async', upstream: 'order' },
  { template: '/orders/:id', upstream: 'order' },
  { template: '/orders/:id/status', upstream: 'order' },
  { template: '/orders/*rest', upstream: 'order' },
];

export interface RouteTarget {
  upstream: Upstream;
  /** Route timeout: the upstream must start answering (and keep the body flowing) within it. */
  timeoutMs: number;
}

export interface Authentication {
  verifier: AccessTokenVerifier;
  /** GATEWAY_IDENTITY_SECRET: signs the caller forwarded to the services. */
  identitySecret: string;
}

/** Mounts the routing table on the app, each route forwarding to its upstream. */
export function mountRoutes(app: Express, targets: Record<UpstreamKey, RouteTarget>, auth: Authentication): void {
  for (const route of ROUTES) app.all(route.template, forwardTo(targets[route.upstream], route.anonymous ?? [], auth));
}

function forwardTo({ upstream, timeoutMs }: RouteTarget, anonymous: readonly string[], auth: Authentication): RequestHandler {
  return async (req, res) => {
    if (hasDotSegment(req.path)) {
      // `/products/../internal/reservations` must not reach a router that normalises it.
      throw new AppError({ status: 404, code: 'route_not_found', detail: `no route for ${req.method} ${req.path}` });
    }
    if (!callerOf(req) && !anonymous.includes(req.method)) throw auth.verifier.missing();
    await upstream.forward(req, res, timeoutMs, await forwardedIdentity(req, auth.identitySecret));
  };
}

/** True when a path segment is `.` or `..`, also percent-encoded (`%2e%2e`). */
export function hasDotSegment(path: string): boolean {
  if (!path.includes('.') && !/%2e/i.test(path)) return false;
  return path.split('/').some((segment) => {
    const decoded = segment.replace(/%2e/gi, '.');
    return decoded === '.' || decoded === '..';
  });
}
