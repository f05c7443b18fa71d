import net from 'node:net';

/** What a client that sent a whole body got back: the status, content type and body, or the error it saw instead. */
export interface UploadOutcome {
  status?: number;
  contentType?: string;
  body?: string;
  /** A network error instead of an answer ("fetch failed: other side closed", ECONNRESET, …). */
  error?: string;
}

/**
 * POSTs `bytes` of JSON to `url` the way Node's fetch (undici) does: it keeps sending the whole body and reads the
 * answer afterwards — so a server that answers early and resets the connection makes it fail.
 */
export async function uploadWithFetch(url: string, bytes: number, headers: Record<string, string> = {}): Promise<UploadOutcome> {
  const body = `{"name":"${'x'.repeat(Math.max(0, bytes - 11))}"}`;
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { error: `${e.message}${e.cause ? `: ${e.cause.code ?? ''} ${e.cause.message ?? ''}` : ''}` };
  }
}

/** The same over a raw socket: the request head, then the whole body as fast as the socket takes it, then the answer. */
export function uploadWithSocket(url: string, bytes: number, headers: Record<string, string> = {}): Promise<UploadOutcome> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (outcome: UploadOutcome) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(outcome);
    };
    let failure: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset can come with the answer already read (then it counts) or instead of it.
    socket.on('error', (err: NodeJS.ErrnoException) => (failure = err.code ?? err.message));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!match) return done({ error: failure ?? `no HTTP answer (${text.length} bytes)` });
      const [head = '', rest = ''] = text.split('\r\n\r\n', 2);
      const contentType = /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1];
      done({ status: Number(match[1]), ...(contentType ? { contentType } : {}), body: rest });
    });
    socket.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\nConnection: close\r\n${extra}\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = bytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

/** Outcomes counted by what the client saw: `{"413 application/problem+json; charset=utf-8": 50}`, or the errors. */
export function summarizeUploads(outcomes: readonly UploadOutcome[]): Record<string, number> {
  return outcomes.reduce<Record<string, number>>((acc, o) => {
    const key = o.error ? `error: ${o.error}` : `${o.status} ${o.contentType ?? ''}`;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});
}
