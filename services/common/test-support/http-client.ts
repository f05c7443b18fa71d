/** A small fetch wrapper for the tests: JSON in, status + headers + parsed body out. */
import type { Identity } from '../src/auth';
import { identityHeaders } from './auth';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  contentType: string;
}

export interface RequestOptions {
  /** JSON-encoded unless `raw` is given. */
  json?: unknown;
  /** Sent as is (malformed JSON, other media types). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface ApiClientOptions {
  /** Behind the gateway: the caller the gateway vouches for (a signed X-Eshop-Identity on every request). */
  as?: Identity;
  /** At the gateway: an access token sent as Authorization: Bearer. */
  bearer?: string;
}

/** Anonymous unless `as` (a service behind the gateway) or `bearer` (the gateway) says who calls. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly auth: ApiClientOptions = {},
  ) {}

  /** The same client acting as someone else (or, with `{}`, anonymously). */
  withAuth(auth: ApiClientOptions): ApiClient {
    return new ApiClient(this.baseUrl, auth);
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      ...(this.auth.as ? await identityHeaders(this.auth.as) : {}),
      ...(this.auth.bearer ? { authorization: `Bearer ${this.auth.bearer}` } : {}),
      ...options.headers,
    };
    let body: string | undefined;
    if (options.raw !== undefined) {
      body = options.raw;
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (text.length > 0 && /json/.test(contentType)) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, contentType };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { headers });
  }
  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, headers });
  }
  put<T = any>(path: string, json: unknown, headers?: Record<string, string>) {
    return this.request<T>('PUT', path, { json, headers });
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, { headers });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}
