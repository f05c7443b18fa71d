/**
 * The local Jaeger's HTTP query API (the one its UI uses: /api/traces/{id}, /api/traces?service=&tags=), read the way
 * an engineer debugging an order would: one trace by id, or the traces tagged with an order id.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Where the local Jaeger listens: the environment, else .local/stack.env (local/platform.sh infra writes both URLs). */
export function jaegerUrls(): { otlp: string; query: string } {
  let file: Record<string, string> = {};
  try {
    const text = readFileSync(path.join(REPO_ROOT, '.local', 'stack.env'), 'utf8');
    file = Object.fromEntries(
      text
        .split('\n')
        .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)='(.*)'\s*$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  } catch {
    // no stack.env: defaults
  }
  return {
    otlp: process.env.ESHOP_JAEGER_OTLP_URL ?? file.ESHOP_JAEGER_OTLP_URL ?? 'http://127.0.0.1:4318',
    query: process.env.ESHOP_JAEGER_QUERY_URL ?? file.ESHOP_JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686',
  };
}

interface RawTag {
  key: string;
  type: string;
  value: unknown;
}

interface RawSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  tags: RawTag[];
  processID: string;
  logs?: Array<{ fields: RawTag[] }>;
}

interface RawTrace {
  traceID: string;
  spans: RawSpan[];
  processes: Record<string, { serviceName: string; tags?: RawTag[] }>;
}

/** A span as the tests look at it. */
export interface TraceSpan {
  id: string;
  traceId: string;
  parentId: string | undefined;
  service: string;
  name: string;
  kind: string | undefined;
  error: boolean;
  statusMessage: string | undefined;
  tags: Record<string, unknown>;
  /** Resource attributes of the process that recorded the span (OTEL_RESOURCE_ATTRIBUTES among them). */
  process: Record<string, unknown>;
  start: number;
}

export class Trace {
  constructor(readonly id: string, readonly spans: TraceSpan[]) {}

  static from(raw: RawTrace): Trace {
    return new Trace(
      raw.traceID,
      raw.spans.map((s) => {
        const tags = Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
        return {
          id: s.spanID,
          traceId: s.traceID,
          parentId: s.references.find((r) => r.refType === 'CHILD_OF')?.spanID,
          service: raw.processes[s.processID]?.serviceName ?? '?',
          name: s.operationName,
          kind: tags['span.kind'] as string | undefined,
          error: tags.error === true,
          statusMessage: tags['otel.status_description'] as string | undefined,
          tags,
          process: Object.fromEntries((raw.processes[s.processID]?.tags ?? []).map((t) => [t.key, t.value])),
          start: s.startTime,
        };
      }),
    );
  }

  get services(): Set<string> {
    return new Set(this.spans.map((s) => s.service));
  }

  /** Spans matching every given property (`name` may be a RegExp). */
  find(where: { service?: string; kind?: string; name?: string | RegExp; tag?: [string, unknown] }): TraceSpan[] {
    return this.spans.filter(
      (s) =>
        (where.service === undefined || s.service === where.service) &&
        (where.kind === undefined || s.kind === where.kind) &&
        (where.name === undefined || (typeof where.name === 'string' ? s.name === where.name : where.name.test(s.name))) &&
        (where.tag === undefined || s.tags[where.tag[0]] === where.tag[1]),
    );
  }

  /** The one span matching; fails with the trace's outline otherwise. */
  one(where: Parameters<Trace['find']>[0]): TraceSpan {
    const found = this.find(where);
    if (found.length !== 1) throw new Error(`expected one span ${JSON.stringify(where, replacer)}, found ${found.length} in:\n${this.outline()}`);
    return found[0]!;
  }

  parentOf(span: TraceSpan): TraceSpan | undefined {
    return span.parentId === undefined ? undefined : this.spans.find((s) => s.id === span.parentId);
  }

  /** Whether `ancestor` is on the parent chain of `span`. */
  descends(span: TraceSpan, ancestor: TraceSpan): boolean {
    for (let p = this.parentOf(span); p; p = this.parentOf(p)) if (p.id === ancestor.id) return true;
    return false;
  }

  /** The tree, one span per line (service, kind, name), for failure messages. */
  outline(): string {
    const lines: string[] = [];
    const children = (id: string | undefined) => this.spans.filter((s) => s.parentId === id).sort((a, b) => a.start - b.start);
    const walk = (span: TraceSpan, depth: number) => {
      lines.push(`${'  '.repeat(depth)}${span.service} ${span.kind ?? ''} ${span.name}${span.error ? ' [error]' : ''}`);
      for (const c of children(span.id)) walk(c, depth + 1);
    };
    const ids = new Set(this.spans.map((s) => s.id));
    for (const root of this.spans.filter((s) => s.parentId === undefined || !ids.has(s.parentId))) walk(root, 0);
    return lines.join('\n');
  }
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof RegExp ? value.toString() : value;
}

export class JaegerQuery {
  constructor(readonly baseUrl: string) {}

  /** The trace with this id, or undefined while Jaeger has none of its spans. */
  async trace(traceId: string): Promise<Trace | undefined> {
    const res = await fetch(`${this.baseUrl}/api/traces/${traceId}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET /api/traces/${traceId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: RawTrace[] | null };
    const raw = body.data?.[0];
    return raw ? Trace.from(raw) : undefined;
  }

  /** Traces of `service` with a span tagged `tags` (e.g. { 'order.id': id }), as the UI's search does. */
  async search(service: string, tags: Record<string, string>, lookbackMinutes = 60): Promise<Trace[]> {
    const query = new URLSearchParams({ service, tags: JSON.stringify(tags), lookback: `${lookbackMinutes}m`, limit: '20' });
    const res = await fetch(`${this.baseUrl}/api/traces?${query}`);
    if (!res.ok) throw new Error(`GET /api/traces?${query}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: RawTrace[] | null };
    return (body.data ?? []).map((t) => Trace.from(t));
  }

  async services(): Promise<string[]> {
    const res = await fetch(`${this.baseUrl}/api/services`);
    if (!res.ok) throw new Error(`GET /api/services: ${res.status}`);
    return ((await res.json()) as { data: string[] | null }).data ?? [];
  }
}

/** A random W3C traceparent (sampled) and its trace id: the test's request starts a trace it can look up. */
export function newTraceparent(): { traceparent: string; traceId: string } {
  const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join('');
  const traceId = hex(16);
  return { traceId, traceparent: `00-${traceId}-${hex(8)}-01` };
}
