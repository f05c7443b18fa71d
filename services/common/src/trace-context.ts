/**
 * The platform's trace vocabulary on top of @opentelemetry/api alone (no SDK): what the outbox stores, what the relay
 * and the consumers continue, what log lines carry. Without a started SDK (tracing off) every call here is a cheap
 * no-op: the API's default propagator injects nothing and no span is ever active.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/** The W3C Trace Context and Baggage fields the platform propagates (HTTP headers and Kafka message headers). */
export const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const;

const TRACER = 'eshop';
const tracer = () => trace.getTracer(TRACER);

/** The active span's ids for a log line (`trace_id`, `span_id`); nothing when no span is active. */
export function traceLogFields(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  // A span the sampler dropped still has ids; they are only worth logging when the trace is recorded somewhere.
  if ((traceFlags & 1) === 0) return undefined;
  return { trace_id: traceId, span_id: spanId };
}

/**
 * The active trace context as W3C header fields, for work that continues later in another process: the outbox stores
 * them with each event, and the relay parents its publish span on them. Empty when tracing is off.
 */
export function currentTraceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context carried by header fields (Kafka headers, outbox rows); ROOT_CONTEXT when they carry none. */
export function contextFromHeaders(headers: Record<string, string | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** Whether header fields carry a trace context at all. */
export function hasTraceContext(headers: Record<string, string | undefined>): boolean {
  return typeof headers.traceparent === 'string' && headers.traceparent.length > 0;
}

/**
 * `headers` with the trace fields replaced by those of `ctx` (e.g. a publish span's); unchanged when there is nothing
 * to inject (tracing off: the stored fields pass through as they were written).
 */
export function withTraceHeaders(headers: Record<string, string>, ctx: Context): Record<string, string> {
  const injected: Record<string, string> = {};
  propagation.inject(ctx, injected);
  if (Object.keys(injected).length === 0) return headers;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!(TRACE_HEADERS as readonly string[]).includes(k)) out[k] = v;
  return { ...out, ...injected };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; default the active one. */
  parent?: Context;
}

/**
 * Runs `fn` in a new span (active for its duration, so nested spans, HTTP calls and SQL are its children); a throw
 * records the exception, sets the error status and ends the span.
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Starts a span that the caller ends (for work that is not one function call, e.g. one message of a batch send). */
export function startSpan(name: string, options: SpanOptions): Span {
  return tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active());
}

/** Spans whose error status names a business reason (rejectSpan); a later throw must not replace it. */
const rejected = new WeakSet<Span>();

/** Records `err` on `span` and marks it failed (keeping a rejection's reason, if rejectSpan set one). */
export function failSpan(span: Span, err: unknown, message?: string): void {
  if (err instanceof Error) span.recordException(err);
  if (rejected.has(span)) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? (err instanceof Error ? err.message : String(err)) });
}

/** Attributes on the active span (e.g. `order.id` once the order id is known). */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Marks the active span failed with a business reason, e.g. an order rejected for insufficient stock: the request
 * itself succeeded (a 409 is an answer), but whoever looks for "why was my order not placed" finds the span red.
 */
export function rejectSpan(reason: string, attributes: Attributes = {}): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttributes(attributes);
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  rejected.add(span);
}

export { SpanKind, SpanStatusCode, context as traceContext, trace, type Context as TraceContext, type Span };
