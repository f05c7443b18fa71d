import type { IncomingMessage } from 'node:http';
import { AppError, payloadTooLarge } from '@eshop/common';

/** What goes to the upstream: nothing, the client's stream itself, or a small chunked body read ahead. */
export type UpstreamBody = { kind: 'none' } | { kind: 'stream'; stream: IncomingMessage } | { kind: 'buffered'; data: Buffer };

function tooLarge(limit: number): AppError {
  // The rest of the body is not worth keeping the connection for: close it once the answer is out.
  return payloadTooLarge(limit, { Connection: 'close' });
}

/**
 * Applies the gateway's body limit before anything is sent upstream. A declared Content-Length is
 * checked up front and the body then streams through untouched; a chunked body (no length) is read
 * ahead up to the limit, so an oversized one is refused without the upstream ever seeing a byte.
 */
export async function upstreamBody(req: IncomingMessage, limit: number): Promise<UpstreamBody> {
  if (req.headers['transfer-encoding'] === undefined) {
    const declared = req.headers['content-length'];
    if (declared === undefined) return { kind: 'none' };
    const length = Number(declared);
    // Node's parser already rejects malformed lengths; this only guards the arithmetic.
    if (!Number.isSafeInteger(length) || length === 0) return { kind: 'none' };
    if (length > limit) throw tooLarge(limit);
    return { kind: 'stream', stream: req };
  }
  return { kind: 'buffered', data: await readUpTo(req, limit) };
}

function readUpTo(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading; destroying req would kill the socket before the 413 can be written.
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new AppError({ status: 400, code: 'request_aborted', detail: 'client aborted the request body', cause: err }));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
