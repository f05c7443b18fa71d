import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import * as ts from 'typescript';
import { TestRun, type TestRunSpecRunnerEnv, TestRunSpecCleanup, TestRunSpecInitializerResourcesLimits, TestRunSpecInitializerResourcesRequests, TestRunSpecRunnerResourcesLimits, TestRunSpecRunnerResourcesRequests, TestRunSpecRunnerVolumesEmptyDirSizeLimit } from '../../imports/k6-k6.io';
import { ResourceSettings } from '../environments';

/** uid/gid of the `k6` user in the grafana/k6 image (and the operator's runner image built on it). */
export const K6_USER_ID = 12345;

/** loadtests/k6 of this repository, found by walking up (works from src/ under jest and from build/src/). */
export function defaultScriptsDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'loadtests', 'k6');
    if (existsSync(join(candidate, 'common.ts'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`no loadtests/k6/common.ts above ${__dirname}: pass scriptsDir`);
  }
}

/**
 * The k6 scripts as plain JavaScript, file name → source. They are written in TypeScript; the runner image
 * of k6-operator 1.6.0 (`latest-runner`, FROM grafana/k6:latest) carries whatever k6 was current when it was
 * built, and k6 runs .ts natively only from 0.57 on, so the ConfigMap ships JS that any k6 ≥ 0.42 (the
 * Prometheus remote-write output) runs. Type stripping only: `tsc -p loadtests/k6` does the type check.
 */
export function transpileK6Scripts(scriptsDir: string): Record<string, string> {
  const files = readdirSync(scriptsDir).filter(f => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
  if (files.length === 0) throw new Error(`${scriptsDir}: no .ts scripts`);
  const out: Record<string, string> = {};
  for (const file of files) {
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(join(scriptsDir, file), 'utf8'), {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2020,
        // `./common.ts` → `./common.js`: the ConfigMap holds .js keys side by side in /test.
        rewriteRelativeImportExtensions: true,
        removeComments: false,
      },
    });
    if (diagnostics && diagnostics.length > 0) {
      throw new Error(`${file}: ${diagnostics.map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);
    }
    out[file.replace(/\.ts$/, '.js')] = outputText;
  }
  return out;
}

export interface K6ScriptsProps {
  /** ConfigMap name; the operator mounts every key of it as a file in /test. */
  readonly name: string;
  /** @default - loadtests/k6 of this repository */
  readonly scriptsDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The k6 scripts as one ConfigMap, read and transpiled at synth time (no copy of the scripts in cdk8s/). */
export class K6Scripts extends Construct {
  readonly name: string;
  readonly files: readonly string[];

  constructor(scope: Construct, id: string, props: K6ScriptsProps) {
    super(scope, id);
    const data = transpileK6Scripts(props.scriptsDir ?? defaultScriptsDir());
    this.name = props.name;
    this.files = Object.keys(data);
    new k8s.KubeConfigMap(this, 'config-map', {
      metadata: { name: props.name, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      data,
    });
  }
}

export interface LoadTestProps {
  /** Scenario name: TestRun `k6-<scenario>`, script `<scenario>.js`. */
  readonly scenario: string;
  readonly scripts: K6Scripts;
  /** Runner pods; k6 splits the scenario's rates between them. */
  readonly parallelism: number;
  /** Gateway base URL the scripts call. */
  readonly baseUrl: string;
  /** Value of the `testid` tag (dashboard variable) and TEST_ID. */
  readonly testId: string;
  /** LOAD_FACTOR: multiplies the scripts' arrival rates. */
  readonly loadFactor: number;
  /** Prometheus remote-write endpoint (…/api/v1/write). */
  readonly prometheusRemoteWriteUrl: string;
  readonly resources: ResourceSettings;
  /** Labels of the runner pods (NetworkPolicies select on them). */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** @default - the operator's default runner image */
  readonly runnerImage?: string;
  /** More runner variables, by reference (credentials: secretKeyRef, never a value). @default - none */
  readonly env?: readonly TestRunSpecRunnerEnv[];
}

/** The CRD types automountServiceAccountToken as a string: k6 pods never talk to the API server. */
const NO_API_ACCESS = String(false);

/** Trend stats k6 writes as gauges (k6_http_req_duration_p95 …): what the load-test dashboard reads. */
export const K6_TREND_STATS = 'p(95),p(99),min,max';

/**
 * One k6-operator TestRun of one scenario: its script from the shared ConfigMap, Prometheus remote-write
 * output tagged with `testid`, runner pods labelled for the gateway's NetworkPolicy, hardened and sized,
 * and removed after the run (`cleanup: post`; metrics live on in Prometheus).
 */
export class LoadTest extends Construct {
  readonly testRun: TestRun;
  readonly name: string;

  constructor(scope: Construct, id: string, props: LoadTestProps) {
    super(scope, id);
    const file = `${props.scenario}.js`;
    if (!props.scripts.files.includes(file)) {
      throw new Error(`load test ${props.scenario}: script ${file} is not in ConfigMap ${props.scripts.name} (${props.scripts.files.join(', ')})`);
    }
    if (!Number.isInteger(props.parallelism) || props.parallelism < 1) {
      throw new Error(`load test ${props.scenario}: parallelism=${props.parallelism}: must be an integer ≥ 1`);
    }
    if (!/^[A-Za-z0-9_.-]{1,63}$/.test(props.testId)) {
      throw new Error(`load test ${props.scenario}: testId=${JSON.stringify(props.testId)}: must be 1-63 characters of A-Z, a-z, 0-9, _ . -`);
    }
    this.name = `k6-${props.scenario}`;
    const { requests, limits } = props.resources;
    const podSecurityContext = {
      runAsNonRoot: true,
      runAsUser: K6_USER_ID,
      runAsGroup: K6_USER_ID,
      fsGroup: K6_USER_ID,
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const containerSecurityContext = (readOnlyRootFilesystem: boolean) => ({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = { volumes: [{ name: 'tmp', emptyDir: { sizeLimit: TestRunSpecRunnerVolumesEmptyDirSizeLimit.fromString('64Mi') } }], volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] };

    this.testRun = new TestRun(this, 'test-run', {
      metadata: { name: this.name, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec: {
        parallelism: props.parallelism,
        script: { configMap: { name: props.scripts.name, file } },
        arguments: `-o experimental-prometheus-rw --tag testid=${props.testId}`,
        cleanup: TestRunSpecCleanup.POST,
        runner: {
          ...(props.runnerImage ? { image: props.runnerImage } : {}),
          metadata: { labels: { ...props.podLabels, 'app.kubernetes.io/name': 'k6-runner', 'app.kubernetes.io/instance': this.name } },
          env: [
            { name: 'BASE_URL', value: props.baseUrl },
            { name: 'TEST_ID', value: props.testId },
            { name: 'LOAD_FACTOR', value: String(props.loadFactor) },
            { name: 'K6_PROMETHEUS_RW_SERVER_URL', value: props.prometheusRemoteWriteUrl },
            { name: 'K6_PROMETHEUS_RW_TREND_STATS', value: K6_TREND_STATS },
            ...(props.env ?? []),
          ],
          resources: {
            requests: { cpu: TestRunSpecRunnerResourcesRequests.fromString(requests.cpu), memory: TestRunSpecRunnerResourcesRequests.fromString(requests.memory) },
            limits: { cpu: TestRunSpecRunnerResourcesLimits.fromString(limits.cpu), memory: TestRunSpecRunnerResourcesLimits.fromString(limits.memory) },
          },
          securityContext: podSecurityContext,
          containerSecurityContext: containerSecurityContext(true),
          automountServiceAccountToken: NO_API_ACCESS,
          ...tmp,
        },
        // The initializer runs `k6 archive`/`k6 inspect` (no load, no network to the app), writing the archive
        // next to its working directory: its root filesystem stays writable.
        initializer: {
          metadata: { labels: { ...props.podLabels, 'app.kubernetes.io/name': 'k6-initializer' } },
          resources: {
            requests: { cpu: TestRunSpecInitializerResourcesRequests.fromString('50m'), memory: TestRunSpecInitializerResourcesRequests.fromString('64Mi') },
            limits: { cpu: TestRunSpecInitializerResourcesLimits.fromString('500m'), memory: TestRunSpecInitializerResourcesLimits.fromString('256Mi') },
          },
          securityContext: podSecurityContext,
          containerSecurityContext: containerSecurityContext(false),
          automountServiceAccountToken: NO_API_ACCESS,
        },
      },
    });
  }
}
