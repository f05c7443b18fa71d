import type { Express, RequestHandler } from 'express';
import { AppError } from '@eshop/common';
import type { Upstream } from '../proxy/upstream';

export type UpstreamKey = 'product' | 'order';

/**
 * The public API: every path the gateway forwards, as route templates (which also label the request
 * metrics). Methods are not filtered — the owning service answers 404/405 itself. Anything else,
 * /internal/* in particular, falls through to the 404 problem.
 */
export const ROUTES: ReadonlyArray<{ readonly template: string; readonly upstream: UpstreamKey }> = [
  { template: '/products', upstream: 'product' },
  { template: '/products/:id', upstream: 'product' },
  { template: '/products/*rest', upstream: 'product' },
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

/** Mounts the routing table on the app, each route forwarding to its upstream. */
export function mountRoutes(app: Express, targets: Record<UpstreamKey, RouteTarget>): void {
  for (const route of ROUTES) app.all(route.template, forwardTo(targets[route.upstream]));
}

function forwardTo({ upstream, timeoutMs }: RouteTarget): RequestHandler {
  return async (req, res) => {
    if (hasDotSegment(req.path)) {
      // `/products/../internal/reservations` must not reach a router that normalises it.
      throw new AppError({ status: 404, code: 'route_not_found', detail: `no route for ${req.method} ${req.path}` });
    }
    await upstream.forward(req, res, timeoutMs);
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
