import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_NAMESPACE, jaeger, jaegerOtlpEndpoint, kafka } from './platform-contract';

export const ENVIRONMENT_NAMES = ['kind', 'eks'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Who owns the order consumers' replica count. */
export type ConsumerAutoscalingMode = 'keda' | 'hpa-external' | 'none';

export interface ResourceSettings {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** Replicas of a workload: fixed, or a CPU HPA between min and max. */
export interface ApiScaling {
  /** Replicas when `hpa` is undefined. */
  readonly replicas: number;
  /** CPU-based HPA (autoscaling/v2); undefined → fixed `replicas`. */
  readonly hpa?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuUtilizationPercent: number };
}

export interface ApiWorkloadSettings {
  readonly scaling: ApiScaling;
  readonly resources: ResourceSettings;
  /** `*_DB_POOL_MAX`; unused by the gateway. Sum over max replicas must fit MySQL's max_connections. */
  readonly dbPoolMax?: number;
}

export interface ConsumerAutoscalingSettings {
  readonly mode: ConsumerAutoscalingMode;
  /** Replicas when mode is `none`. */
  readonly replicas: number;
  readonly minReplicas: number;
  /** Must not exceed the partitions of order-events (idle consumers beyond that do nothing). */
  readonly maxReplicas: number;
  /** Target lag per replica (KEDA lagThreshold / HPA AverageValue). A string, as KEDA metadata is. */
  readonly lagThreshold: string;
  /** Lag at which KEDA activates from 0 replicas. */
  readonly activationLagThreshold: string;
  readonly offsetResetPolicy: 'earliest' | 'latest';
  /** KEDA polling interval. */
  readonly pollingIntervalSeconds: number;
  /** KEDA cooldown (only used when scaling to 0). */
  readonly cooldownPeriodSeconds: number;
}

export interface IngressSettings {
  readonly className: string;
  /** Host rule; undefined → matches any host. */
  readonly host?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Who may reach the gateway's port: pods of an in-cluster ingress controller, or anything (ALB with target-type ip). */
export type GatewayIngressSource =
  | { readonly kind: 'pods'; readonly podLabels: Readonly<Record<string, string>> }
  | { readonly kind: 'any' };

export interface TopologySpreadSettings {
  readonly zone: 'ScheduleAnyway' | 'DoNotSchedule';
  readonly hostname: 'ScheduleAnyway' | 'DoNotSchedule';
}

/**
 * Where the gateway takes the keys that verify access tokens from. The platform chart must provide the same:
 * `local-issuer` reads Secret eshop-auth-local (chart auth.localIssuer.enabled, development clusters), `jwks`
 * reads the identity provider's JWKS URL from ConfigMap eshop-auth (chart auth.jwksUrl). Authentication has no
 * "off": the gateway refuses to start without keys.
 */
export type AccessTokenKeys = 'local-issuer' | 'jwks';

/**
 * The gateway's rate limits (RATE_LIMIT_*), per gateway replica (in-memory counters). 0 turns a limit off;
 * ESHOP_RATE_LIMIT_PER_IP / ESHOP_RATE_LIMIT_PER_IDENTITY override them at synth time (load tests, see
 * docs/performance/README.md).
 */
export interface RateLimitSettings {
  readonly windowMs: number;
  /** Requests per window from one client address. */
  readonly perIp: number;
  /** Requests per window from one signed-in user (token subject). */
  readonly perIdentity: number;
}

/**
 * Distributed tracing (docs/tracing.md): where every app process sends its spans (OTLP over HTTP) and how many
 * new traces it records. Off (no endpoint) means no OTEL_* variables at all: the services load no tracing code.
 */
export type TracingSettings =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      /** OTLP/HTTP base URL (spans go to <url>/v1/traces): the chart's Jaeger, an OpenTelemetry collector, ADOT. */
      readonly otlpEndpoint: string;
      /** Share of new traces recorded (OTEL_TRACES_SAMPLER_ARG of parentbased_traceidratio), 0 to 1. */
      readonly sampleRatio: number;
      /**
       * Pods in the app's namespace that receive the spans: the app's egress is allowed to exactly them on the
       * endpoint's port. Undefined (a collector elsewhere: another namespace, a node agent, a managed endpoint):
       * egress to that port is allowed to any destination.
       */
      readonly collectorPods?: Readonly<Record<string, string>>;
    };

/** The k6 scenarios in loadtests/k6 (one TestRun each). */
export const LOAD_TEST_SCENARIOS = ['catalog-browsing', 'sync-orders', 'async-orders', 'flash-sale', 'async-ramp'] as const;
export type LoadTestScenario = (typeof LOAD_TEST_SCENARIOS)[number];

/** k6-operator TestRuns (synthesized separately from the app: `dist/loadtests/<env>/`). */
export interface LoadTestSettings {
  /** Runner pods per scenario; k6 splits arrival rates and VUs between them (execution segments). */
  readonly parallelism: Readonly<Record<LoadTestScenario, number>>;
  /** LOAD_FACTOR of the scripts: multiplies every arrival rate. */
  readonly loadFactor: number;
  readonly runnerResources: ResourceSettings;
  /** Runner image; undefined → the operator's default (ghcr.io/grafana/k6-operator:latest-runner). */
  readonly runnerImage?: string;
  /** Prometheus remote-write endpoint k6 writes to; undefined → kube-prometheus-stack in the namespace. */
  readonly prometheusRemoteWriteUrl?: string;
}

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  readonly namespace: string;
  readonly image: {
    /** Registry prefix (no trailing slash); undefined → bare repository names (kind: skaffold rewrites them). */
    readonly registry?: string;
    /** Never `latest`. */
    readonly tag: string;
    readonly pullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  };
  readonly gateway: ApiWorkloadSettings;
  readonly auth: { readonly keys: AccessTokenKeys };
  readonly rateLimits: RateLimitSettings;
  readonly product: ApiWorkloadSettings;
  readonly orderApi: ApiWorkloadSettings;
  readonly orderConsumer: {
    readonly autoscaling: ConsumerAutoscalingSettings;
    readonly resources: ResourceSettings;
    readonly dbPoolMax: number;
  };
  readonly migrationResources: ResourceSettings;
  readonly ingress: IngressSettings;
  readonly gatewayIngressFrom: GatewayIngressSource;
  /** Namespaces where Prometheus may run (kube-prometheus-stack in the release namespace or its own). */
  readonly monitoringNamespaces: readonly string[];
  /** Annotations on every app ServiceAccount (IRSA role on EKS). */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  readonly topologySpread: TopologySpreadSettings;
  readonly shutdown: { readonly delayMs: number; readonly timeoutMs: number };
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly tracing: TracingSettings;
  readonly loadTests: LoadTestSettings;
}

/** Version of the root package.json (the one declaring the workspaces): default image tag and Helm chart version. */
export function rootPackageVersion(): string {
  // Found by walking up, so it works from src/ (jest) and from build/src/ (compiled) alike.
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; workspaces?: unknown };
      if (pkg.workspaces !== undefined) {
        if (typeof pkg.version !== 'string' || pkg.version === '') {
          throw new Error(`${file}: version=${JSON.stringify(pkg.version)}: must be a non-empty string (the default image tag)`);
        }
        return pkg.version;
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json with "workspaces" above ${__dirname}: cannot derive the default image tag`);
  }
}


const CPU_HPA = 70;
const SHUTDOWN = { delayMs: 5000, timeoutMs: 20000 } as const;

const res = (reqCpu: string, reqMem: string, limCpu: string, limMem: string): ResourceSettings => ({
  requests: { cpu: reqCpu, memory: reqMem },
  limits: { cpu: limCpu, memory: limMem },
});

const RATE_LIMIT_WINDOW_MS = 60_000;

/** A rate limit from ESHOP_RATE_LIMIT_* when set (a non-negative integer), else the environment's value. */
function rateLimitOverride(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name}=${JSON.stringify(raw)}: must be a non-negative integer (requests per ${RATE_LIMIT_WINDOW_MS / 1000} s; 0 = no limit)`);
  return Number(raw);
}

function rateLimits(env: NodeJS.ProcessEnv, perIp: number, perIdentity: number): RateLimitSettings {
  return {
    windowMs: RATE_LIMIT_WINDOW_MS,
    perIp: rateLimitOverride(env, 'ESHOP_RATE_LIMIT_PER_IP', perIp),
    perIdentity: rateLimitOverride(env, 'ESHOP_RATE_LIMIT_PER_IDENTITY', perIdentity),
  };
}

/** A sampling ratio from ESHOP_TRACE_SAMPLE_RATIO when set (0 to 1), else `fallback`. */
function sampleRatio(env: NodeJS.ProcessEnv, fallback: number): number {
  const raw = env.ESHOP_TRACE_SAMPLE_RATIO;
  if (raw === undefined || raw === '') return fallback;
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(raw)) throw new Error(`ESHOP_TRACE_SAMPLE_RATIO=${JSON.stringify(raw)}: must be a ratio between 0 and 1`);
  return Number(raw);
}

/**
 * kind: the chart's Jaeger (values-kind.yaml turns it on), every trace kept — a laptop sees each request.
 * ESHOP_TRACING=off turns it off.
 */
function kindTracing(env: NodeJS.ProcessEnv, namespace: string): TracingSettings {
  if (env.ESHOP_TRACING === 'off') return { enabled: false };
  return { enabled: true, otlpEndpoint: jaegerOtlpEndpoint(namespace), sampleRatio: sampleRatio(env, 1), collectorPods: jaeger.podLabels };
}

/**
 * eks: on when ESHOP_OTLP_ENDPOINT names a collector (an OpenTelemetry collector or ADOT, or the chart's Jaeger at
 * http://eshop-jaeger.<namespace>.svc:4318 with tracing.jaeger.enabled), one new trace in ten by default.
 */
function eksTracing(env: NodeJS.ProcessEnv, namespace: string): TracingSettings {
  const endpoint = env.ESHOP_OTLP_ENDPOINT;
  if (!endpoint || env.ESHOP_TRACING === 'off') return { enabled: false };
  const inChart = endpoint.replace(/\/+$/, '') === jaegerOtlpEndpoint(namespace);
  return { enabled: true, otlpEndpoint: endpoint, sampleRatio: sampleRatio(env, 0.1), ...(inChart ? { collectorPods: jaeger.podLabels } : {}) };
}

const consumerDefaults = {
  lagThreshold: '100',
  activationLagThreshold: '10',
  offsetResetPolicy: 'earliest',
  pollingIntervalSeconds: 15,
  cooldownPeriodSeconds: 300,
} as const;

/**
 * The typed configuration of one environment. Reads only the variables below from `env`:
 * ESHOP_IMAGE_TAG, ESHOP_RATE_LIMIT_PER_IP, ESHOP_RATE_LIMIT_PER_IDENTITY, ESHOP_TRACING, ESHOP_TRACE_SAMPLE_RATIO (both),
 * ESHOP_IMAGE_REGISTRY, ESHOP_IRSA_ROLE_ARN, ESHOP_INGRESS_HOST, ESHOP_ACM_CERTIFICATE_ARN, ESHOP_OTLP_ENDPOINT (eks).
 */
export function environmentConfig(name: EnvironmentName, env: NodeJS.ProcessEnv = process.env): EnvironmentConfig {
  const tag = env.ESHOP_IMAGE_TAG || rootPackageVersion();
  switch (name) {
    case 'kind':
      return {
        name,
        namespace: DEFAULT_NAMESPACE,
        image: { tag, pullPolicy: 'IfNotPresent' },
        gateway: { scaling: { replicas: 1, hpa: { minReplicas: 1, maxReplicas: 3, cpuUtilizationPercent: CPU_HPA } }, resources: res('50m', '96Mi', '500m', '256Mi') },
        // The platform's kind values run a local issuer: tokens are minted with its key (NOTES.txt, k6).
        auth: { keys: 'local-issuer' },
        // Per IP: a k6 runner is one pod IP and sends the whole scenario (flash sale: 300 req/s at LOAD_FACTOR 1);
        // 24,000/min = 400/s keeps it unthrottled with a third to spare. Per identity: the contract default (10/s
        // per user); the k6 scripts mint a token per virtual customer, so no identity comes near it.
        rateLimits: rateLimits(env, 24_000, 600),
        product: { scaling: { replicas: 1, hpa: { minReplicas: 1, maxReplicas: 3, cpuUtilizationPercent: CPU_HPA } }, resources: res('50m', '128Mi', '500m', '256Mi'), dbPoolMax: 10 },
        orderApi: { scaling: { replicas: 1, hpa: { minReplicas: 1, maxReplicas: 3, cpuUtilizationPercent: CPU_HPA } }, resources: res('50m', '128Mi', '500m', '256Mi'), dbPoolMax: 10 },
        orderConsumer: {
          autoscaling: { mode: 'keda', replicas: 1, minReplicas: 1, maxReplicas: 4, ...consumerDefaults },
          resources: res('50m', '128Mi', '500m', '256Mi'),
          dbPoolMax: 6,
        },
        migrationResources: res('50m', '96Mi', '500m', '256Mi'),
        ingress: { className: 'traefik', host: 'eshop.localtest.me', annotations: {} },
        gatewayIngressFrom: { kind: 'pods', podLabels: { 'app.kubernetes.io/name': 'traefik' } },
        monitoringNamespaces: [DEFAULT_NAMESPACE, 'monitoring'],
        serviceAccountAnnotations: {},
        // kind nodes carry no zone label: a hard zone constraint would leave pods Pending.
        topologySpread: { zone: 'ScheduleAnyway', hostname: 'ScheduleAnyway' },
        shutdown: SHUTDOWN,
        logLevel: 'info',
        tracing: kindTracing(env, DEFAULT_NAMESPACE),
        // One node shares its CPU with the whole platform: one runner, the scripts' base rates.
        loadTests: {
          parallelism: { 'catalog-browsing': 1, 'sync-orders': 1, 'async-orders': 1, 'flash-sale': 1, 'async-ramp': 1 },
          loadFactor: 1,
          runnerResources: res('100m', '128Mi', '1', '512Mi'),
        },
      };
    case 'eks': {
      const roleArn = env.ESHOP_IRSA_ROLE_ARN || undefined;
      const certificateArn = env.ESHOP_ACM_CERTIFICATE_ARN || undefined;
      const albAnnotations: Record<string, string> = {
        'alb.ingress.kubernetes.io/scheme': 'internet-facing',
        'alb.ingress.kubernetes.io/target-type': 'ip',
        'alb.ingress.kubernetes.io/healthcheck-path': '/healthz',
        'alb.ingress.kubernetes.io/listen-ports': certificateArn ? '[{"HTTP":80},{"HTTPS":443}]' : '[{"HTTP":80}]',
        ...(certificateArn
          ? { 'alb.ingress.kubernetes.io/certificate-arn': certificateArn, 'alb.ingress.kubernetes.io/ssl-redirect': '443' }
          : {}),
      };
      const api = (dbPoolMax?: number): ApiWorkloadSettings => ({
        scaling: { replicas: 2, hpa: { minReplicas: 2, maxReplicas: 6, cpuUtilizationPercent: CPU_HPA } },
        resources: res('250m', '256Mi', '1', '512Mi'),
        ...(dbPoolMax === undefined ? {} : { dbPoolMax }),
      });
      return {
        name,
        namespace: DEFAULT_NAMESPACE,
        // Unset: bare eshop/<service> names, which `skaffold run -p eks --default-repo …` rewrites to what it
        // pushed. `helm install` of the packaged chart needs the registry (main.ts refuses to package without).
        image: { ...(env.ESHOP_IMAGE_REGISTRY ? { registry: env.ESHOP_IMAGE_REGISTRY } : {}), tag, pullPolicy: 'IfNotPresent' },
        gateway: api(),
        // Keys from the identity provider's JWKS endpoint, which the platform chart requires (auth.jwksUrl).
        auth: { keys: 'jwks' },
        // Per IP (the client address behind the ALB, per gateway replica): 6,000/min = 100/s, room for a NAT-ed office
        // or carrier-grade NAT browsing the catalog; a flood from one address is cut off. Per identity: 10/s per user.
        // A k6 experiment from a few runner pods with one token exceeds both: raise them for the run
        // (ESHOP_RATE_LIMIT_PER_IP / _PER_IDENTITY, docs/performance/README.md).
        rateLimits: rateLimits(env, 6_000, 600),
        product: api(10),
        orderApi: api(10),
        orderConsumer: {
          autoscaling: { mode: 'keda', replicas: 2, minReplicas: 2, maxReplicas: kafka.topics.orderEvents.partitions, ...consumerDefaults },
          resources: res('200m', '256Mi', '1', '512Mi'),
          dbPoolMax: 6,
        },
        migrationResources: res('100m', '128Mi', '500m', '256Mi'),
        ingress: { className: 'alb', ...(env.ESHOP_INGRESS_HOST ? { host: env.ESHOP_INGRESS_HOST } : {}), annotations: albAnnotations },
        // target-type ip: the ALB's nodes (VPC addresses, not pods) connect to the pods directly.
        gatewayIngressFrom: { kind: 'any' },
        monitoringNamespaces: [DEFAULT_NAMESPACE, 'monitoring'],
        serviceAccountAnnotations: roleArn ? { 'eks.amazonaws.com/role-arn': roleArn } : {},
        // Nodes always carry topology.kubernetes.io/zone on EKS: losing a zone costs at most ceil(n/zones) pods.
        topologySpread: { zone: 'DoNotSchedule', hostname: 'ScheduleAnyway' },
        shutdown: SHUTDOWN,
        logLevel: 'info',
        tracing: eksTracing(env, DEFAULT_NAMESPACE),
        // 5× kind's rates, spread over runners so no runner's CPU limits the load it generates.
        loadTests: {
          parallelism: { 'catalog-browsing': 2, 'sync-orders': 2, 'async-orders': 2, 'flash-sale': 2, 'async-ramp': 4 },
          loadFactor: 5,
          runnerResources: res('500m', '256Mi', '2', '1Gi'),
        },
      };
    }
    default: {
      const unknown: never = name;
      throw new Error(`environment: "${String(unknown)}" is not one of ${ENVIRONMENT_NAMES.join(', ')}`);
    }
  }
}

/** Recursively optional, for overrides of an environment's config (arrays and records are replaced whole). */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `base` with `overrides` merged in (objects merged key by key, anything else replaced). */
export function mergeConfig<T>(base: T, overrides: DeepPartial<T> | undefined): T {
  if (overrides === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeConfig(out[key], value) : value;
  }
  return out as T;
}

const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/;

/** Throws on the first rule a config breaks, naming the field, its value and the rule. */
export function validateConfig(config: EnvironmentConfig): void {
  const fail = (field: string, value: unknown, rule: string): never => {
    throw new Error(`${config.name}: ${field}=${JSON.stringify(value)}: ${rule}`);
  };
  const { tag, registry } = config.image;
  if (!TAG_PATTERN.test(tag)) fail('image.tag', tag, 'must be a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})');
  if (tag === 'latest') fail('image.tag', tag, 'must pin a version; "latest" makes rollouts unrepeatable');
  if (registry !== undefined && (registry === '' || registry.endsWith('/'))) {
    fail('image.registry', registry, 'must be a host[/path] prefix without a trailing slash');
  }
  for (const key of ['gateway', 'product', 'orderApi'] as const) {
    const { scaling } = config[key];
    if (!Number.isInteger(scaling.replicas) || scaling.replicas < 1) fail(`${key}.scaling.replicas`, scaling.replicas, 'must be an integer ≥ 1');
    if (scaling.hpa) {
      const { minReplicas, maxReplicas, cpuUtilizationPercent } = scaling.hpa;
      if (!Number.isInteger(minReplicas) || minReplicas < 1) fail(`${key}.scaling.hpa.minReplicas`, minReplicas, 'must be an integer ≥ 1');
      if (maxReplicas < minReplicas) fail(`${key}.scaling.hpa.maxReplicas`, maxReplicas, `must be ≥ minReplicas (${minReplicas})`);
      if (cpuUtilizationPercent < 1 || cpuUtilizationPercent > 100) fail(`${key}.scaling.hpa.cpuUtilizationPercent`, cpuUtilizationPercent, 'must be 1-100');
    }
  }
  const a = config.orderConsumer.autoscaling;
  const partitions = kafka.topics.orderEvents.partitions;
  if (a.maxReplicas > partitions) {
    fail('orderConsumer.autoscaling.maxReplicas', a.maxReplicas,
      `must be ≤ the ${partitions} partitions of ${kafka.topics.orderEvents.name}; consumers beyond that sit idle in group ${kafka.orderConsumerGroup}`);
  }
  const minAllowed = a.mode === 'keda' ? 0 : 1; // HPA minReplicas 0 needs the HPAScaleToZero feature gate
  if (!Number.isInteger(a.minReplicas) || a.minReplicas < minAllowed) fail('orderConsumer.autoscaling.minReplicas', a.minReplicas, `must be an integer ≥ ${minAllowed} in mode ${a.mode}`);
  if (a.maxReplicas < Math.max(a.minReplicas, 1)) fail('orderConsumer.autoscaling.maxReplicas', a.maxReplicas, `must be ≥ minReplicas (${a.minReplicas}) and ≥ 1`);
  if (a.mode === 'none' && (a.replicas < 1 || a.replicas > partitions)) fail('orderConsumer.autoscaling.replicas', a.replicas, `must be 1-${partitions} in mode none`);
  for (const field of ['lagThreshold', 'activationLagThreshold'] as const) {
    if (!/^[1-9]\d*$/.test(a[field])) fail(`orderConsumer.autoscaling.${field}`, a[field], 'must be a positive integer written as a string');
  }
  const roleArn = config.serviceAccountAnnotations['eks.amazonaws.com/role-arn'];
  if (roleArn !== undefined && !IAM_ROLE_ARN.test(roleArn)) {
    fail('serviceAccountAnnotations["eks.amazonaws.com/role-arn"] (ESHOP_IRSA_ROLE_ARN)', roleArn, 'must be an IAM role ARN arn:aws:iam::<12 digits>:role/<name>');
  }
  if (config.shutdown.delayMs < 0 || config.shutdown.timeoutMs <= 0) fail('shutdown', config.shutdown, 'delayMs ≥ 0 and timeoutMs > 0');
  const limits = config.rateLimits;
  if (!Number.isInteger(limits.windowMs) || limits.windowMs < 1000) fail('rateLimits.windowMs', limits.windowMs, 'must be an integer ≥ 1000 (the gateway refuses less)');
  for (const field of ['perIp', 'perIdentity'] as const) {
    if (!Number.isInteger(limits[field]) || limits[field] < 0) fail(`rateLimits.${field}`, limits[field], 'must be an integer ≥ 0 (0 = no limit)');
  }
  if (config.auth.keys !== 'local-issuer' && config.auth.keys !== 'jwks') fail('auth.keys', config.auth.keys, 'must be local-issuer or jwks');
  for (const scenario of LOAD_TEST_SCENARIOS) {
    const n = config.loadTests.parallelism[scenario];
    if (!Number.isInteger(n) || n < 1) fail(`loadTests.parallelism["${scenario}"]`, n, 'must be an integer ≥ 1');
  }
  if (!(config.loadTests.loadFactor > 0)) fail('loadTests.loadFactor', config.loadTests.loadFactor, 'must be a positive number');
  const tracing = config.tracing;
  if (tracing.enabled) {
    let url: URL | undefined;
    try { url = new URL(tracing.otlpEndpoint); } catch { url = undefined; }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      fail('tracing.otlpEndpoint (ESHOP_OTLP_ENDPOINT)', tracing.otlpEndpoint, 'must be an http(s) URL of an OTLP/HTTP receiver, e.g. http://otel-collector.observability.svc:4318');
    }
    if (!(tracing.sampleRatio >= 0 && tracing.sampleRatio <= 1)) fail('tracing.sampleRatio (ESHOP_TRACE_SAMPLE_RATIO)', tracing.sampleRatio, 'must be between 0 and 1');
  }
}

/** The port an OTLP endpoint URL connects to (its explicit port, else 80/443). */
export function otlpPort(endpoint: string): number {
  const url = new URL(endpoint);
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
