import { AsyncLocalStorage } from 'node:async_hooks';

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

/** Adds fields to the current context in place, e.g. the order id once it is known. */
export function addToContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}
