import { AsyncLocalStorage } from 'node:async_hooks';
import { annotateSpan } from './trace-context';

/** Fields carried through a request or a message so every log line of it names them. */
export interface LogContext {
  requestId?: string;
  orderId?: string;
  [key: string]: unknown;
}

const storage = new AsyncLocalStorage<LogContext>();

export function currentContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `fields` added to the current context (nested calls inherit and extend it). */
export function withContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/**
 * Runs `fn` in a context captured earlier with currentContext(): for callbacks that fire outside the request's
 * async context (a response's 'close' can fire in a pooled upstream socket's context, i.e. another request's).
 */
export function inCapturedContext<T>(captured: LogContext | undefined, fn: () => T): T {
  return captured ? storage.run(captured, fn) : fn();
}

/**
 * Adds fields to the current context in place, e.g. the order id once it is known. The order id also goes on the
 * active span (`order.id`), which is how an order's trace is found (docs/tracing.md).
 */
export function addToContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
  if (fields.orderId !== undefined) annotateSpan({ 'order.id': fields.orderId });
}
