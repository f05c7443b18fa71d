/**
 * Shared by every scenario: where the gateway is, the run's testid tag, the load factor, thresholds, access
 * tokens and product seeding. Imports carry the .ts extension so k6 ≥ 0.57 can run the sources directly; the
 * cdk8s app transpiles them to .js (same names) for the k6-operator ConfigMap.
 */
import http from 'k6/http';
import { check, fail } from 'k6';
import { hmac } from 'k6/crypto';
import { b64decode, b64encode } from 'k6/encoding';
import type { Options, Scenario, Threshold } from 'k6/options';

/** Gateway base URL, without a trailing slash. */
export const BASE_URL = (__ENV.BASE_URL || 'http://gateway.eshop.svc:8080').replace(/\/+$/, '');

/** Test-wide tag `testid` (the load-test dashboard's variable); `--tag testid=…` on the command line wins. */
export const TEST_ID = __ENV.TEST_ID || 'local';

function positiveNumber(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: must be a positive number`);
  return value;
}

/** Multiplies every arrival rate (and the VU pools sized from them): 1 on kind, more on EKS. */
export const LOAD_FACTOR = positiveNumber('LOAD_FACTOR', 1);

/** An arrival rate scaled by LOAD_FACTOR, at least 1 per second. */
export const rate = (perSecond: number): number => Math.max(1, Math.round(perSecond * LOAD_FACTOR));

/**
 * VU pool for an arrival-rate executor: enough for `peak` iterations/s at `expectedSeconds` each
 * (Little's law), with head room up to `maxSeconds` before k6 starts dropping iterations.
 */
export function vusFor(peak: number, expectedSeconds = 0.1, maxSeconds = 2): { preAllocatedVUs: number; maxVUs: number } {
  return { preAllocatedVUs: Math.max(2, Math.ceil(peak * expectedSeconds)), maxVUs: Math.max(10, Math.ceil(peak * maxSeconds)) };
}

/** Stages of sync-orders and async-orders (the same, so the two runs compare step by step). */
export const ORDER_STAGES = [
  { target: rate(10), duration: '30s' },
  { target: rate(25), duration: '1m' },
  { target: rate(50), duration: '1m' },
  { target: rate(100), duration: '1m' },
  { target: rate(150), duration: '1m' },
  { target: 0, duration: '30s' },
];

export const JSON_PARAMS = { headers: { 'Content-Type': 'application/json' } } as const;

/** Error-rate and latency thresholds of one scenario (latencies in ms). */
export interface ScenarioSlo {
  readonly maxFailedRate: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Stop the run early when the error rate is far beyond the SLO (after 30 s of data). */
  readonly abortFailedRate?: number;
}

/** Thresholds of a scenario, scoped by its `scenario` tag so one script's scenarios are judged separately. */
export function thresholdsFor(scenario: string, slo: ScenarioSlo): Record<string, Threshold[]> {
  const failed: Threshold[] = [`rate<${slo.maxFailedRate}`];
  if (slo.abortFailedRate !== undefined) failed.push({ threshold: `rate<${slo.abortFailedRate}`, abortOnFail: true, delayAbortEval: '30s' });
  return {
    [`http_req_failed{scenario:${scenario}}`]: failed,
    [`http_req_duration{scenario:${scenario}}`]: [`p(95)<${slo.p95Ms}`, `p(99)<${slo.p99Ms}`],
  };
}

/** Options every script shares: its scenarios and thresholds, the testid tag, p95/p99 in the summary. */
export function optionsFor(scenarios: Record<string, Scenario>, thresholds: Record<string, Threshold[]>): Options {
  return {
    scenarios,
    thresholds: { checks: ['rate>0.99'], ...thresholds },
    tags: { testid: TEST_ID },
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
    // Load requests do not read bodies: less GC in the load generator. setup() asks for text explicitly.
    discardResponseBodies: true,
    setupTimeout: '180s',
  };
}

export interface SeededProduct {
  readonly id: number;
  readonly stock: number;
}

/**
 * Creates `count` products with `stock` units each through the gateway (in batches of 20) and returns
 * their ids. Called from setup(): every run gets fresh products, so runs never share stock.
 */
export function seedProducts(count: number, stock: number, label: string): SeededProduct[] {
  const products: SeededProduct[] = [];
  const headers = { ...JSON_PARAMS.headers, ...admin().headers };
  for (let start = 0; start < count; start += 20) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 20); i++) {
      batch.push({
        method: 'POST',
        url: `${BASE_URL}/products`,
        body: JSON.stringify({ name: `k6 ${TEST_ID} ${label} ${i}`, description: `seeded by k6 run ${TEST_ID}`, price: '19.99', stock }),
        params: { headers, responseType: 'text' as const, tags: { name: 'POST /products (setup)' } },
      });
    }
    for (const res of http.batch(batch)) {
      if (!check(res, { 'setup: product created (201)': r => r.status === 201 })) {
        fail(`setup: POST ${BASE_URL}/products answered ${res.status}: ${String(res.body).slice(0, 200)}`);
      }
      products.push({ id: (res.json() as { id: number }).id, stock });
    }
  }
  return products;
}

/** A random element (the arrays are never empty: setup() fails first). */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

// ----------------------------------------------------------------------------------------- access tokens
//
// The gateway wants a bearer token for every order and catalog write. With the local issuer's key
// (AUTH_JWT_SECRET; on kind the TestRun reads it from Secret eshop-auth-local, issuer and audience from ConfigMap
// eshop-auth) the scripts mint HS256 tokens as the gateway's local issuer does: an admin for setup() and a new
// customer per order, so the per-identity rate limit sees many users, as it would in production. Behind an
// identity provider (EKS) there is no key to mint with: ACCESS_TOKEN (Secret eshop-loadtest-token) is sent on
// every request; an admin token may order for any user id, a customer token orders as itself.

const AUTH_SECRET = __ENV.AUTH_JWT_SECRET || '';
const ACCESS_TOKEN = __ENV.ACCESS_TOKEN || '';
const ISSUER = __ENV.AUTH_JWT_ISSUER || 'eshop-local';
const AUDIENCE = __ENV.AUTH_JWT_AUDIENCE || 'eshop-api';
const ROLES_CLAIM = __ENV.AUTH_ROLES_CLAIM || 'roles';
/** Longer than any scenario, a long HOLD of async-ramp included. */
export const TOKEN_TTL_SECONDS = 6 * 3600;

export type Role = 'admin' | 'customer';

/** Who sends a request: the user id its orders carry and its Authorization header. */
export interface Caller {
  readonly userId: string;
  readonly headers: { readonly Authorization: string };
}

export interface TokenClaims {
  readonly sub: string;
  readonly roles: readonly Role[];
  readonly iss: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
}

/** An HS256 JWT in the form of the gateway's local issuer (mintAccessToken, services/common/src/auth.ts). */
export function hs256Token(secret: string, claims: TokenClaims): string {
  const input = `${b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl')}.${b64encode(JSON.stringify(claims), 'rawurl')}`;
  return `${input}.${hmac('sha256', secret, input, 'base64rawurl')}`;
}

/** Subject and admin role of the passed-in ACCESS_TOKEN (read, not verified: the gateway does that). */
function passedInCaller(): { sub: string; admin: boolean } {
  const payload = ACCESS_TOKEN.split('.')[1];
  let claims: Record<string, unknown> = {};
  try {
    claims = JSON.parse(b64decode(payload ?? '', 'rawurl', 's')) as Record<string, unknown>;
  } catch {
    throw new Error('ACCESS_TOKEN is not a JWT (header.payload.signature)');
  }
  const roles = claims[ROLES_CLAIM];
  const list = Array.isArray(roles) ? roles.map(String) : typeof roles === 'string' ? roles.split(/[\s,]+/) : [];
  return { sub: String(claims['sub'] ?? ''), admin: list.includes('admin') };
}

/** A caller with `role` named `userId`: a token minted with the local key, else the passed-in ACCESS_TOKEN. */
export function caller(role: Role, userId: string): Caller {
  if (AUTH_SECRET) {
    const iat = Math.floor(Date.now() / 1000);
    const token = hs256Token(AUTH_SECRET, { sub: userId, roles: [role], iss: ISSUER, aud: AUDIENCE, iat, exp: iat + TOKEN_TTL_SECONDS });
    return { userId, headers: { Authorization: `Bearer ${token}` } };
  }
  if (ACCESS_TOKEN) {
    const passed = passedInCaller();
    if (role === 'admin' && !passed.admin) throw new Error(`ACCESS_TOKEN carries no admin role in claim ${ROLES_CLAIM}: setup() creates products, which takes an admin`);
    return { userId: passed.admin ? userId : passed.sub, headers: { Authorization: `Bearer ${ACCESS_TOKEN}` } };
  }
  throw new Error('no credentials for the gateway: set AUTH_JWT_SECRET (the local issuer key, kind) or ACCESS_TOKEN (a token of your identity provider)');
}

/** The run's id as a user-id fragment: user ids are [A-Za-z0-9_-], TEST_ID may also hold dots. */
const RUN_USER_PREFIX = `k6-${TEST_ID.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 48);

/** The admin that seeds products in setup(). */
export const admin = (): Caller => caller('admin', `${RUN_USER_PREFIX}-admin`);

/** A new virtual customer, unique enough per run: every order comes from its own user. */
export const customer = (): Caller => caller('customer', `${RUN_USER_PREFIX}-${Math.floor(Math.random() * 1e6)}`);

/** Body of POST /orders and /orders/async: one line, quantity 1, for the caller's user id. */
export function orderBody(productId: number, userId: string): string {
  return JSON.stringify({ user_id: userId, items: [{ product_id: productId, quantity: 1 }] });
}

/** POST /orders or /orders/async by a new virtual customer: body and params (JSON, its token, the `name` tag). */
export function customerOrder(productId: number, name: string): { body: string; params: { headers: Record<string, string>; tags: { name: string } } } {
  const who = customer();
  return { body: orderBody(productId, who.userId), params: { headers: { ...JSON_PARAMS.headers, ...who.headers }, tags: { name } } };
}
