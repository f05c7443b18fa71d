/**
 * An HTTP proxy that holds every request for a while before passing it on: a product service that
 * answers in `delayMs` instead of ~2 ms, so a backlog takes long enough to drain for a test to act on
 * it mid-stream (start and stop consumers, and so on).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export class LatencyProxy {
  private constructor(
    private readonly server: http.Server,
    private readonly agent: http.Agent,
  ) {}

  static async start(target: string, delayMs: number): Promise<LatencyProxy> {
    const upstream = new URL(target);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const server = http.createServer((req, res) => {
      setTimeout(() => {
        const forward = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.once('error', () => res.destroy());
        req.pipe(forward);
      }, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new LatencyProxy(server, agent);
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
