/**
 * An HTTP proxy that makes a service slow: it holds every request for `delayMs` before passing it on (so a
 * backlog takes long enough to drain for a test to act on it mid-stream), or, with `hold: 'response'`, passes
 * the request on at once and holds the answer (the service did the work, its caller hears of it late).
 * `delayMs` can change while it runs (latency injected and removed).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LatencyProxyOptions {
  /** What waits `delayMs`: the request before it is forwarded (default), or the upstream's answer. */
  hold?: 'request' | 'response';
}

export class LatencyProxy {
  private constructor(
    private readonly server: http.Server,
    private readonly agent: http.Agent,
    /** Current added latency; change it to inject or remove slowness. */
    public delayMs: number,
  ) {}

  /** `target`: the upstream origin, or a function returning it when it is known only later. */
  static async start(target: string | (() => string), delayMs: number, options: LatencyProxyOptions = {}): Promise<LatencyProxy> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const holdResponse = options.hold === 'response';
    let proxy: LatencyProxy | undefined;
    const server = http.createServer((req, res) => {
      const delay = proxy!.delayMs;
      const forward = () => {
        const upstream = new URL(typeof target === 'function' ? target() : target);
        const outgoing = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
          (answer) => {
            const relay = () => {
              if (res.destroyed) return void answer.resume(); // the caller gave up meanwhile
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            };
            if (holdResponse && delay > 0) setTimeout(relay, delay);
            else relay();
          },
        );
        outgoing.once('error', () => res.destroy());
        req.pipe(outgoing);
      };
      if (!holdResponse && delay > 0) setTimeout(forward, delay);
      else forward();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new LatencyProxy(server, agent, delayMs);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }
}
