/** One HTTP exchange with full control over the request target, headers and body bytes, and a deadline. */
import http from 'node:http';
import net from 'node:net';

export interface WireRequest {
  method: string;
  /** Request target as sent: path and query, already encoded (or deliberately not). */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface WireResponse {
  /** 0 when no answer came before the deadline or the connection failed. */
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
  /** Why there is no status: `timeout` (a hang) or the connection error. */
  failure?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Sends one request; resolves (never rejects) with what came back within `deadlineMs`. */
export function exchange(baseUrl: string, request: WireRequest, deadlineMs: number): Promise<WireResponse> {
  const url = new URL(baseUrl);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const done = (response: WireResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    let req: http.ClientRequest;
    try {
      req = http.request({ host: url.hostname, port: url.port, method: request.method, path: request.target, headers, agent });
    } catch (err) {
      // The client library refuses to send it (e.g. a header value outside latin1): not the server's doing.
      done({ status: -1, headers: {}, text: '', ms: 0, failure: `not sendable: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, headers: {}, text: '', ms: elapsed(), failure: 'timeout' });
    }, deadlineMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: elapsed() }));
      res.on('error', (err) => done({ status: 0, headers: {}, text: '', ms: elapsed(), failure: err.message }));
    });
    req.on('error', (err) => done({ status: 0, headers: {}, text: '', ms: elapsed(), failure: err.message }));
    req.end(request.body);
  });
}

/**
 * Bytes straight onto a socket, for requests no HTTP client would send (broken request lines, bad
 * framing). Resolves with the status line's code (0 if the server closed without one) once the server
 * answers or closes, or with a `timeout` failure after `deadlineMs`.
 */
export function rawExchange(baseUrl: string, bytes: Buffer, deadlineMs: number): Promise<WireResponse> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (failure?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: http.IncomingHttpHeaders = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, headers, text: rest.join('\r\n\r\n'), ms: Math.round(performance.now() - started), failure });
    };
    const timer = setTimeout(() => finish('timeout'), deadlineMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One response is enough: stop once its head and (if announced) its body are in.
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (Buffer.byteLength(text, 'latin1') >= end + 4 + length) finish();
      }
    });
    socket.on('end', () => finish());
    socket.on('error', (err) => finish(err.message));
    socket.write(bytes);
  });
}

export function closeConnections(): void {
  agent.destroy();
}
