import type { IncomingMessage } from 'node:http';

/** How much of a refused request's body a server reads and throws away before it answers. */
export interface DrainLimits {
  /** A body declared or found larger than this is left unread. */
  readonly maxBytes: number;
  /** A body still arriving after this long is left unread. */
  readonly maxMs: number;
}

/** 16 MiB or 5 s: a 5 MiB upload over a slow office link is read; a 1 GB one is not. */
export const REFUSED_BODY_DRAIN: DrainLimits = { maxBytes: 16 * 1024 * 1024, maxMs: 5_000 };

/**
 * Reads and discards what is left of a request body; resolves true when it was read to the end.
 *
 * For requests refused before their body was read (413, 401, 429, 415): a server that answers and closes the
 * connection with the body still arriving leaves unread bytes in the kernel's receive buffer, and closing a socket
 * with unread data sends a TCP reset — which the client, still sending, sees instead of the answer (Node's fetch:
 * "fetch failed", browsers: a network error). Reading the rest first lets the answer through. Bounded by `limits`:
 * past them the body stays unread and the client may see that reset, which only a client sending more than the
 * bound, or slower than it, can cause.
 */
export function drainRequestBody(req: IncomingMessage, limits: DrainLimits = REFUSED_BODY_DRAIN): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      if (!drained) req.pause();
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limits.maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(req.complete);
    const timer = setTimeout(() => finish(false), limits.maxMs);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onClose);
    req.resume();
  });
}
