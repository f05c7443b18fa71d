import http from 'node:http';
import { Metrics, createLogger } from '@eshop/common';
import { accessToken, testAuthEnv } from '@eshop/test-support';
import { loadGatewayConfig, type GatewayConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/service';

export interface TestGateway {
  readonly url: string;
  readonly gateway: RunningGateway;
  stop(): Promise<void>;
}

/** Starts the real gateway on a free port; `env` overrides its variables (upstream URLs at least). */
export async function startTestGateway(env: Record<string, string>): Promise<TestGateway> {
  const config: GatewayConfig = loadGatewayConfig({ API_GATEWAY_PORT: '0', SHUTDOWN_TIMEOUT_MS: '5000', ...testAuthEnv(), ...env });
  const gateway = await startGateway(config, {
    logger: createLogger('api-gateway', process.env.TEST_LOG_LEVEL ?? 'silent'),
    metrics: new Metrics('api-gateway'),
    host: '127.0.0.1',
  });
  let stopped = false;
  return {
    url: `http://127.0.0.1:${gateway.port}`,
    gateway,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Parsed body when it is JSON (loosely typed: tests assert on its shape). */
  json: any;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length), in this many pieces. */
  chunks?: number;
  /** Send no Authorization header (by default an admin's token is sent unless `headers` has one). */
  anonymous?: boolean;
}

/** An admin's token for the test gateway; most routing tests are not about who calls. */
const adminToken = accessToken('admin', 'admin', 24 * 3600);

/** One request on a fresh connection, with full control over the request target, framing and headers. */
export async function send(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string | string[] | number> = { ...options.headers };
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (!options.anonymous && !hasAuthorization) headers['authorization'] = `Bearer ${await adminToken}`;
  return sendRaw(url, options, headers);
}

function sendRaw(url: string, options: RawRequest, headers: Record<string, string | string[] | number>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body && !options.chunks) headers['content-length'] = body.length;
    // Split by hand: `new URL()` would normalise dot segments, and tests need the raw request target.
    const match = /^http:\/\/([^/:]+):(\d+)(\/.*)?$/.exec(url);
    if (!match) throw new Error(`not an http URL: ${url}`);
    const target = { host: match[1], port: Number(match[2]), path: match[3] ?? '/' };
    const req = http.request({ ...target, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    if (body && options.chunks) {
      const size = Math.ceil(body.length / options.chunks);
      for (let i = 0; i < body.length; i += size) req.write(body.subarray(i, i + size));
    } else if (body) {
      req.write(body);
    }
    req.end();
  });
}

/** Value of one sample in the Prometheus text format, or undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
    const matches = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
