/**
 * Rendering for the offline checks: Helm (lint + template of charts/eshop-platform with stub subcharts,
 * since operator charts cannot be downloaded here), cdk8s (in-memory synth per environment), YAML loading.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import type { Manifest } from './schema-validator';

export const ROOT = path.resolve(__dirname, '../../..');
export const PLATFORM_CHART = path.join(ROOT, 'charts/eshop-platform');
export const NAMESPACE = 'eshop';
export const RELEASE = 'eshop-platform';
export const ENVIRONMENTS = ['kind', 'eks'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Kubernetes version of the pinned schemas; templates see the same version through .Capabilities. */
export const KUBE_VERSION = '1.36.0';
/**
 * API versions the operators install. Passing them lets templates that check .Capabilities.APIVersions
 * render their custom resources, so those get validated too.
 */
export const OPERATOR_API_VERSIONS = [
  'kafka.strimzi.io/v1',
  'keda.sh/v1alpha1',
  'mysql.oracle.com/v2',
  'monitoring.coreos.com/v1',
  'k6.io/v1alpha1',
  'kafka.strimzi.io/v1/Kafka',
  'kafka.strimzi.io/v1/KafkaTopic',
  'kafka.strimzi.io/v1/KafkaNodePool',
  'kafka.strimzi.io/v1/KafkaUser',
  'keda.sh/v1alpha1/ScaledObject',
  'mysql.oracle.com/v2/InnoDBCluster',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'monitoring.coreos.com/v1/PodMonitor',
  'k6.io/v1alpha1/TestRun',
];

const sources = new WeakMap<object, string>();
/** The file a rendered document came from (Helm's `# Source:` line or the synth file), when known. */
export const sourceOf = (doc: object): string | undefined => sources.get(doc);

/** Parses multi-document YAML; empty documents are dropped, a syntax error throws with the file name. */
export function loadYamlDocs(text: string, origin = 'YAML'): Manifest[] {
  const docs: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${origin}: a document is not a mapping: ${JSON.stringify(value)}`);
    const comments = `${doc.commentBefore ?? ''}\n${(doc.contents as { commentBefore?: string } | null)?.commentBefore ?? ''}`;
    const source = /Source: (.+)/.exec(comments)?.[1]?.trim();
    sources.set(value, source ?? origin);
    docs.push(value as Manifest);
  }
  return docs;
}

export const loadYamlFile = (file: string): Manifest[] => loadYamlDocs(readFileSync(file, 'utf8'), path.relative(ROOT, file));

// ------------------------------------------------------------------------------------------------ helm

/** The helm binary: $HELM, else the one `local/platform.sh deps` installs. Fails loudly when missing. */
export function helmBinary(): string {
  const helm = process.env.HELM || path.join(ROOT, '.local/tools/bin/helm');
  if (!existsSync(helm)) {
    throw new Error(
      `helm not found at ${helm}. Run \`local/platform.sh deps\` (go install helm.sh/helm/v3/cmd/helm@v3.22.0 into .local/tools/bin) or set HELM to a helm 3 binary.`,
    );
  }
  return helm;
}

let workDir: string | undefined;
/** One temp folder per process for Helm's homes and chart copies; removed on exit. */
function tempRoot(): string {
  if (!workDir) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eshop-k8s-'));
    workDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return workDir;
}

/** Helm must not read or write the user's ~/.config/helm, caches or plugins. */
export function helmEnv(): NodeJS.ProcessEnv {
  const home = path.join(tempRoot(), 'helm-home');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, sub] of [['HELM_CACHE_HOME', 'cache'], ['HELM_CONFIG_HOME', 'config'], ['HELM_DATA_HOME', 'data']] as const) {
    env[k] = path.join(home, sub);
    mkdirSync(env[k], { recursive: true });
  }
  delete env.KUBECONFIG; // nothing here may talk to a cluster
  return env;
}

/** Runs helm; a failure throws with helm's own output in the message. */
export function helm(args: string[]): string {
  try {
    return execFileSync(helmBinary(), args, { env: helmEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${err.stderr || ''}${err.stdout || ''}`.trim());
  }
}

interface ChartDependency {
  name: string;
  version?: string;
  repository?: string;
  alias?: string;
}

/** The lowest version a constraint such as "~0.45.0", "^3.1", ">=1.2.0 <2" or "1.2.x" admits. */
export function stubVersion(constraint: string | undefined): string {
  const m = /(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(-[0-9A-Za-z.-]+)?/.exec(constraint ?? '');
  if (!m) return '0.0.1';
  const part = (p: string | undefined): string => (p === undefined || p === 'x' || p === '*' ? '0' : p);
  return `${m[1]}.${part(m[2])}.${part(m[3])}${m[4] ?? ''}`;
}

/**
 * A copy of the chart in a temp folder whose charts/ holds a stub (Chart.yaml only) for every dependency
 * that is not vendored. The stubs render nothing, so only our own templates are rendered and validated.
 */
export function chartWithStubs(chartDir: string = PLATFORM_CHART): { dir: string; stubs: string[] } {
  if (!existsSync(path.join(chartDir, 'Chart.yaml'))) throw new Error(`no chart at ${path.relative(ROOT, chartDir)} (Chart.yaml missing)`);
  const dir = mkdtempSync(path.join(tempRoot(), `${path.basename(chartDir)}-`));
  cpSync(chartDir, dir, { recursive: true });
  const chart = parseYaml(readFileSync(path.join(dir, 'Chart.yaml'), 'utf8')) as { dependencies?: ChartDependency[] };
  const chartsDir = path.join(dir, 'charts');
  mkdirSync(chartsDir, { recursive: true });
  const vendored = readdirSync(chartsDir);
  const stubs: string[] = [];
  for (const dep of chart.dependencies ?? []) {
    if (dep.repository?.startsWith('file://')) continue;
    if (vendored.some((f) => f === dep.name || f.startsWith(`${dep.name}-`))) continue;
    const stubDir = path.join(chartsDir, dep.name);
    mkdirSync(stubDir, { recursive: true });
    const version = stubVersion(dep.version);
    writeFileSync(
      path.join(stubDir, 'Chart.yaml'),
      stringify({ apiVersion: 'v2', name: dep.name, version, description: 'Offline stub: the real chart comes from helm dependency update.' }),
    );
    stubs.push(`${dep.alias ?? dep.name}@${version}`);
  }
  return { dir, stubs };
}

export interface PlatformScenario {
  /** e.g. "ci/kind-values.yaml" or "values-eks.yaml". */
  name: string;
  /** Values files (absolute) on top of the chart's values.yaml, in order. */
  valuesFiles: string[];
}

/** Every ci/*-values.yaml scenario, plus the two user-facing environment files values-kind.yaml and values-eks.yaml. */
export function platformScenarios(chartDir: string = PLATFORM_CHART): PlatformScenario[] {
  const ciDir = path.join(chartDir, 'ci');
  const ci = existsSync(ciDir) ? readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml')).sort() : [];
  if (ci.length === 0) throw new Error(`no ci/*-values.yaml scenarios in ${path.relative(ROOT, chartDir)}`);
  const scenarios = ci.map((f) => ({ name: `ci/${f}`, valuesFiles: [path.join(ciDir, f)] }));
  for (const env of ENVIRONMENTS) scenarios.push(platformEnvironment(env, chartDir));
  return scenarios;
}

/** The values a user installs for an environment: values-<env>.yaml on top of values.yaml. */
export function platformEnvironment(env: Environment, chartDir: string = PLATFORM_CHART): PlatformScenario {
  const file = path.join(chartDir, `values-${env}.yaml`);
  if (!existsSync(file)) throw new Error(`${path.relative(ROOT, file)} is missing`);
  return { name: `values-${env}.yaml`, valuesFiles: [file] };
}

const valuesArgs = (files: string[]): string[] => files.flatMap((f) => ['--values', f]);

export function lintChart(chartDir: string, valuesFiles: string[] = []): string {
  return helm(['lint', '--strict', chartDir, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...valuesArgs(valuesFiles)]);
}

export function templateChart(chartDir: string, valuesFiles: string[] = [], release = RELEASE): Manifest[] {
  const out = helm([
    'template', release, chartDir,
    '--namespace', NAMESPACE,
    '--kube-version', KUBE_VERSION,
    ...OPERATOR_API_VERSIONS.flatMap((v) => ['--api-versions', v]),
    ...valuesArgs(valuesFiles),
  ]);
  return loadYamlDocs(out, `helm template ${release}`);
}

export interface PlatformRender {
  scenario: PlatformScenario;
  docs: Manifest[];
  /** A second, independent render: generated secrets must differ from the first. */
  again: Manifest[];
  lint: string;
  stubs: string[];
}

/** Lints and renders one scenario (twice, for the generated-secret check) from a stubbed copy of the chart. */
export function renderPlatform(scenario: PlatformScenario, chart = chartWithStubs()): PlatformRender {
  return {
    scenario,
    lint: lintChart(chart.dir, scenario.valuesFiles),
    docs: templateChart(chart.dir, scenario.valuesFiles),
    again: templateChart(chart.dir, scenario.valuesFiles),
    stubs: chart.stubs,
  };
}

// ----------------------------------------------------------------------------------------------- cdk8s

type SynthEnvironment = (env: Environment, overrides?: unknown) => unknown;

/**
 * The application layer for one environment, synthesized in memory by cdk8s/src/synth.ts. Loaded with a
 * runtime require so this harness does not type-check the cdk8s workspace (it has its own tsconfig).
 */
export function synthApp(env: Environment, overrides?: unknown): Manifest[] {
  const file = path.join(ROOT, 'cdk8s/src/synth.ts');
  if (!existsSync(file)) throw new Error('cdk8s/src/synth.ts is missing: it must export synthEnvironment(env, overrides?)');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { synthEnvironment?: SynthEnvironment };
  if (typeof mod.synthEnvironment !== 'function') throw new Error('cdk8s/src/synth.ts does not export synthEnvironment');
  return normalizeSynth(mod.synthEnvironment(env, overrides), `cdk8s ${env}`);
}

/** Accepts manifests as an array, YAML text, or a map of file name → manifests/YAML. */
function normalizeSynth(result: unknown, origin: string): Manifest[] {
  if (typeof result === 'string') return loadYamlDocs(result, origin);
  if (Array.isArray(result)) {
    return result.flatMap((item: unknown) => (typeof item === 'string' ? loadYamlDocs(item, origin) : [tag(item as Manifest, origin)]));
  }
  if (result && typeof result === 'object') {
    const record = result as Record<string, unknown>;
    if ('apiVersion' in record && 'kind' in record) return [tag(record, origin)];
    for (const key of ['manifests', 'docs', 'objects']) if (Array.isArray(record[key])) return normalizeSynth(record[key], origin);
    return Object.entries(record).flatMap(([file, v]) => normalizeSynth(v, `${origin} ${file}`));
  }
  throw new Error(`${origin}: synthEnvironment returned ${typeof result}, expected manifests`);
}

function tag(doc: Manifest, origin: string): Manifest {
  if (!sources.has(doc)) sources.set(doc, origin);
  return doc;
}

/** `npm run synth` output (cdk8s/dist/<env>/*.k8s.yaml), for checking what a user is about to apply. */
export function loadSynthOutput(env: Environment): Manifest[] {
  const dir = path.join(ROOT, 'cdk8s/dist', env);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort() : [];
  if (files.length === 0) throw new Error(`no ${path.relative(ROOT, dir)}/*.k8s.yaml: run \`npm run synth\` first`);
  return files.flatMap((f) => loadYamlFile(path.join(dir, f)));
}
