import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import { currentContext, type Logger } from '@eshop/common';
import { UpstreamCircuitBreaker, type BreakerSettings } from './circuit-breaker';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { upstreamBody } from './request-body';
import {
  ClientGoneError,
  UpstreamTimeoutError,
  classifyUpstreamError,
  isUpstreamFailure,
  upstreamProblem,
} from './upstream-errors';
import type { UpstreamMetrics } from './upstream-metrics';

export interface UpstreamOptions {
  /** Service name used in metrics, logs and problems, e.g. `product-service`. */
  name: string;
  /** Origin such as http://product-service:8081 (a path, if any, is ignored). */
  url: string;
  connections: number;
  connectTimeoutMs: number;
  breaker: BreakerSettings;
  /** Gateway body limit in bytes. */
  bodyLimit: number;
  trustForwardedHeaders: boolean;
  metrics: UpstreamMetrics;
  logger: Logger;
}

const READINESS_TIMEOUT_MS = 1500;

/**
 * One backend service behind the gateway: a pooled keep-alive undici connection pool, a circuit
 * breaker, and the streaming forwarder that relays a request and its response untouched.
 */
export class Upstream {
  readonly name: string;
  private readonly pool: Pool;
  private readonly breaker: UpstreamCircuitBreaker;

  constructor(private readonly options: UpstreamOptions) {
    this.name = options.name;
    this.pool = new Pool(new URL(options.url).origin, {
      connections: options.connections,
      // One request per connection at a time: a POST must never queue behind another on one socket.
      pipelining: 1,
      connect: { timeout: options.connectTimeoutMs },
      // The per-request timer below bounds the wait for headers, including time queued for a connection.
      headersTimeout: 0,
    });
    options.metrics.register(this.name, this.pool);
    this.breaker = new UpstreamCircuitBreaker({
      upstream: this.name,
      settings: options.breaker,
      isFailure: isUpstreamFailure,
      logger: options.logger,
      onStateChange: (state) => options.metrics.breaker(this.name, state),
    });
  }

  /**
   * Relays `req` to the upstream and the upstream's response to `res`, status, headers and body as they
   * are. Throws the AppError the client should get when no response could be relayed; returns quietly
   * when the client left or the upstream failed after the response had started (the client then sees
   * a cut connection, as it would without the gateway).
   */
  async forward(req: IncomingMessage, res: ServerResponse, timeoutMs: number, identity?: string): Promise<void> {
    const body = await upstreamBody(req, this.options.bodyLimit);
    const method = req.method ?? 'GET';
    const headers = upstreamRequestHeaders(req, {
      requestId: currentContext()?.requestId ?? String(res.getHeader('x-request-id') ?? ''),
      clientAddress: req.socket.remoteAddress,
      protocol: (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http',
      trustForwarded: this.options.trustForwardedHeaders,
      dropContentLength: body.kind === 'buffered',
      identity,
    });

    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new UpstreamTimeoutError(timeoutMs)), timeoutMs);
    const onClientClose = () => {
      if (!res.writableFinished) abort.abort(new ClientGoneError());
    };
    res.once('close', onClientClose);
    const started = process.hrtime.bigint();
    let statusCode = 0;

    try {
      await this.breaker.execute(async () => {
        try {
          await this.pool.stream(
            {
              path: targetPath(req.url ?? '/'),
              method,
              headers,
              body: body.kind === 'none' ? null : body.kind === 'stream' ? body.stream : body.data,
              signal: abort.signal,
              // Between body chunks; the whole-response bound is the client's business.
              bodyTimeout: timeoutMs,
            },
            ({ statusCode: status, headers: responseHeaders }) => {
              clearTimeout(timer);
              statusCode = status;
              res.writeHead(status, clientResponseHeaders(responseHeaders));
              return res;
            },
          );
        } catch (err) {
          // A cut-off response shows up as a premature close of `res` both when the client left and
          // when undici destroyed `res` because the upstream failed mid-body; only then is `res.errored` set.
          const cause = isPrematureClose(err) && res.errored ? res.errored : err;
          throw clientGone(cause, req, res) ? new ClientGoneError(cause) : cause;
        }
      });
      this.options.metrics.observe(this.name, method, statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (err) {
      if (err instanceof ClientGoneError) return;
      const kind = classifyUpstreamError(err);
      this.options.metrics.error(this.name, kind);
      if (res.headersSent) {
        this.options.logger.warn({ err, upstream: this.name, kind }, `${this.name} failed while its response was being relayed`);
        res.destroy();
        return;
      }
      throw upstreamProblem(this.name, kind, err, timeoutMs);
    } finally {
      clearTimeout(timer);
      res.off('close', onClientClose);
    }
  }

  /** Readiness of the upstream: its own /readyz must answer 200 (checked directly, not via the breaker). */
  async checkReady(): Promise<void> {
    let statusCode: number;
    try {
      const response = await this.pool.request({
        path: '/readyz',
        method: 'GET',
        headersTimeout: READINESS_TIMEOUT_MS,
        bodyTimeout: READINESS_TIMEOUT_MS,
        signal: AbortSignal.timeout(READINESS_TIMEOUT_MS),
      });
      statusCode = response.statusCode;
      await response.body.dump();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`${this.name} unreachable: ${reason}`, { cause: err });
    }
    if (statusCode !== 200) throw new Error(`${this.name} /readyz answered ${statusCode}`);
  }

  /** Waits for requests in flight on the pool, then closes its connections. */
  async close(): Promise<void> {
    this.options.metrics.unregister(this.name);
    await this.pool.close();
  }
}

/** The request target as received (path and query untouched); absolute-form targets keep only path and query. */
function targetPath(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

function isPrematureClose(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Whether a call failed because the client left: it aborted while we waited (abort reason), it
 * closed the connection while the response streamed (premature close without an upstream error),
 * or its socket died before any response started (for example in the middle of uploading the body).
 */
function clientGone(err: unknown, req: IncomingMessage, res: ServerResponse): boolean {
  if (err instanceof ClientGoneError || isPrematureClose(err)) return true;
  return !res.headersSent && req.socket.destroyed;
}
