import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 connection-specific fields, plus legacy ones proxies still see; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request fields the gateway sets itself (or undici derives from the body and origin). */
const REPLACED_ON_REQUEST = new Set([
  'host',
  // Node answers 100-continue itself before the handler runs; undici does not forward the expectation.
  'expect',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  // The client's token stays at the gateway; the services get the verified caller instead.
  'authorization',
  // Only the gateway vouches for a caller: a client-sent identity is dropped, never forwarded.
  'x-eshop-identity',
  // Trace context: with tracing on, the gateway's own client span sets these (continuing a client's trace if it sent
  // one); a client's baggage or trace fields never reach the services unchecked.
  'traceparent',
  'tracestate',
  'baggage',
]);

/** Extra fields named in a Connection header are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // The common cases, on nearly every request and response, name no extra header.
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const tokens = joined
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0 && t !== 'close' && t !== 'keep-alive');
  return tokens.length > 0 ? new Set(tokens) : undefined;
}

export interface ForwardingContext {
  requestId: string;
  /** Address of the peer that connected to the gateway. */
  clientAddress: string | undefined;
  /** `http` or `https`, as seen by the gateway. */
  protocol: string;
  /** Keep and extend incoming X-Forwarded-* (a trusted ingress is in front). */
  trustForwarded: boolean;
  /** Drop Content-Length because the body is re-framed (a buffered chunked body). */
  dropContentLength: boolean;
  /** The gateway-signed identity of the verified caller (X-Eshop-Identity), if any. */
  identity?: string;
}

/**
 * Headers for the upstream request as a flat [name, value, …] list, built from the raw incoming
 * ones so duplicates and spelling survive; hop-by-hop fields are removed and the forwarding ones set.
 */
export function upstreamRequestHeaders(req: IncomingMessage, context: ForwardingContext): string[] {
  const extraHopByHop = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || REPLACED_ON_REQUEST.has(lower) || extraHopByHop?.has(lower)) continue;
    if (context.dropContentLength && lower === 'content-length') continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('x-request-id', context.requestId);
  if (context.identity !== undefined) out.push('x-eshop-identity', context.identity);

  const incoming = req.headers;
  const address = context.clientAddress ?? 'unknown';
  const priorFor = context.trustForwarded ? joinHeader(incoming['x-forwarded-for']) : undefined;
  out.push('x-forwarded-for', priorFor ? `${priorFor}, ${address}` : address);
  const priorProto = context.trustForwarded ? firstValue(incoming['x-forwarded-proto']) : undefined;
  out.push('x-forwarded-proto', priorProto ?? context.protocol);
  const host = (context.trustForwarded ? firstValue(incoming['x-forwarded-host']) : undefined) ?? incoming.host;
  if (host) out.push('x-forwarded-host', host);
  return out;
}

/** Upstream response headers minus hop-by-hop fields; Node re-frames the body for its own connection. */
export function clientResponseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): OutgoingHttpHeaders {
  const extraHopByHop = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || extraHopByHop?.has(name)) continue;
    // The gateway already set the same id; keep one value.
    if (name === 'x-request-id') continue;
    out[name] = value;
  }
  return out;
}

function joinHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const joined = (Array.isArray(value) ? value.join(', ') : value).trim();
  return joined.length > 0 ? joined : undefined;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.split(',')[0]?.trim();
  return trimmed ? trimmed : undefined;
}
