/**
 * OpenTelemetry for a service process (docs/tracing.md). Imported as `@eshop/common/tracing` by each entry point's
 * `instrument.ts`, which is the entry's first import: the instrumentations patch http, express, undici and mysql2
 * when those modules load, so the SDK must start before anything requires them.
 *
 * Configured by the standard OTEL_* variables, validated like every other variable (a bad value stops the process
 * with the variable's name). Tracing is off unless an OTLP endpoint is set: then no SDK module is even loaded, no
 * instrumentation patches anything and nothing is exported.
 */
import type { Attributes, Context, Link, SpanKind as SpanKindType } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace';
import { configOrExit, env, loadConfig, type ConfigOf, type ConfigVariable } from './config';
import { z } from 'zod';

const SAMPLERS = [
  'parentbased_traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'traceidratio',
  'always_on',
  'always_off',
] as const;

const optionalUrl = (name: string, doc: string): ConfigVariable<string> => ({
  env: name,
  schema: z.union([z.literal(''), z.url({ message: 'must be an absolute URL (or empty)' })]),
  doc,
  default: '',
});

/** The OTEL_* variables of a process whose service name defaults to `serviceName`. */
export function tracingVariables(serviceName: string) {
  return {
    otelSdkDisabled: env.boolean('OTEL_SDK_DISABLED', {
      doc: 'true turns tracing off even with an endpoint set (no SDK, no instrumentation, no exporter traffic).',
      default: false,
    }),
    otelEndpoint: optionalUrl(
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'Base URL of an OTLP/HTTP receiver (Jaeger, an OpenTelemetry collector), e.g. http://127.0.0.1:4318; spans go to <url>/v1/traces. Empty: tracing is off.',
    ),
    otelTracesEndpoint: optionalUrl(
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'Full URL for spans only (used as is, overrides OTEL_EXPORTER_OTLP_ENDPOINT).',
    ),
    otelProtocol: env.oneOf('OTEL_EXPORTER_OTLP_PROTOCOL', ['http/protobuf'] as const, {
      doc: 'OTLP transport; the services export OTLP over HTTP with protobuf bodies.',
      default: 'http/protobuf',
    }),
    otelServiceName: env.string('OTEL_SERVICE_NAME', {
      doc: 'service.name of this process\'s spans.',
      default: serviceName,
    }),
    otelSampler: env.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, {
      doc: 'Which traces are recorded. parentbased_*: a request or message that arrives with a trace context follows its caller\'s decision, so a trace is kept or dropped whole.',
      default: 'parentbased_traceidratio',
    }),
    otelSamplerArg: {
      env: 'OTEL_TRACES_SAMPLER_ARG',
      schema: z
        .string()
        .trim()
        .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a ratio between 0 and 1')
        .transform(Number),
      doc: 'Share of new traces recorded by the *traceidratio samplers (0 to 1). local/platform.sh up records all (1).',
      default: '0.1',
    } satisfies ConfigVariable<number>,
    otelExportDelayMs: env.integer('OTEL_BSP_SCHEDULE_DELAY', {
      doc: 'Longest time a finished span waits in the process before it is exported (batch span processor), in ms.',
      default: 5000,
      min: 1,
      max: 60000,
    }),
  };
}

export type TracingConfig = ConfigOf<ReturnType<typeof tracingVariables>>;

/** Where spans go, or undefined when tracing is off. */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.otelSdkDisabled) return undefined;
  if (config.otelTracesEndpoint) return config.otelTracesEndpoint;
  if (config.otelEndpoint) return `${config.otelEndpoint.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** Health, readiness and metrics requests are not traced: probes and scrapes would bury the requests that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface RunningTracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered and stops; a no-op when tracing is off. */
  shutdown(): Promise<void>;
}

let active: RunningTracing = { enabled: false, shutdown: async () => undefined };

/** The process's tracing, as startTracing left it (off before that). */
export function runningTracing(): RunningTracing {
  return active;
}

/**
 * Starts the OpenTelemetry SDK for this process when an endpoint is configured. Exits 2 naming the variable when an
 * OTEL_* value is invalid (the same rule as every other variable). Call once, before express, http, undici or mysql2
 * are loaded.
 */
export function startTracing(serviceName: string, source: NodeJS.ProcessEnv = process.env): RunningTracing {
  const config = configOrExit(() => loadConfig(tracingVariables(serviceName), source));
  const url = tracesUrl(config);
  if (!url) return active;

  // Loaded only when tracing is on: with it off, the process never loads the SDK.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const traceSdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  const { W3CTraceContextPropagator, W3CBaggagePropagator, CompositePropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation, ExpressLayerType } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { MySQL2Instrumentation } = require('@opentelemetry/instrumentation-mysql2') as typeof import('@opentelemetry/instrumentation-mysql2');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const ratio = new traceSdk.TraceIdRatioBasedSampler(config.otelSamplerArg);
  const root: Sampler = {
    parentbased_traceidratio: ratio,
    traceidratio: ratio,
    parentbased_always_on: new traceSdk.AlwaysOnSampler(),
    always_on: new traceSdk.AlwaysOnSampler(),
    parentbased_always_off: new traceSdk.AlwaysOffSampler(),
    always_off: new traceSdk.AlwaysOffSampler(),
  }[config.otelSampler];
  const sampler = config.otelSampler.startsWith('parentbased_') ? new traceSdk.ParentBasedSampler({ root }) : root;

  const sdk = new NodeSDK({
    serviceName: config.otelServiceName,
    sampler: entrySpansOnly(sampler, api),
    spanProcessors: [
      new traceSdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: config.otelExportDelayMs }),
    ],
    textMapPropagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    // Traces only: metrics stay Prometheus (prom-client), logs stay JSON on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
        // Outgoing calls without a request or message behind them (readiness checks, JWKS refreshes) start no trace.
        requireParentforOutgoingSpans: true,
      }),
      // Route names on the HTTP server span; one span per route handler, none per middleware.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      new MySQL2Instrumentation(),
    ],
  });
  sdk.start();
  active = {
    enabled: true,
    shutdown: () => sdk.shutdown(),
  };
  return active;
}

/**
 * Only entry points start traces: an HTTP request served, a message consumed. A span of another kind without a
 * parent (the outbox relay's polls, a metrics scrape's backlog query, a periodic sweep: SQL with no request behind
 * it) is dropped, so background work does not fill the back end with one-span traces.
 */
function entrySpansOnly(delegate: Sampler, api: typeof import('@opentelemetry/api')): Sampler {
  return {
    shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKindType, attributes: Attributes, links: Link[]): SamplingResult {
      const parent = api.trace.getSpanContext(ctx);
      if (!parent && kind !== api.SpanKind.SERVER && kind !== api.SpanKind.CONSUMER) {
        return { decision: 0 /* SamplingDecision.NOT_RECORD */ };
      }
      return delegate.shouldSample(ctx, traceId, name, kind, attributes, links);
    },
    toString: () => `EntrySpansOnly{${delegate.toString()}}`,
  };
}
