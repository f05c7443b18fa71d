/**
 * Rendering for the Kubernetes checks (rendering itself needs no cluster): Helm (lint + template of
 * charts/eshop-platform through the chart's own charts/render-ci.sh, which stubs the operator subcharts that
 * cannot be downloaded here), cdk8s (in-memory synth per environment, and its Helm-format chart), YAML loading.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { mergeValues } from './cross-layer';

/** One Kubernetes document as rendered (untyped: checks read the fields they need). */
export type Manifest = Record<string, unknown>;

export const ROOT = path.resolve(__dirname, '../../..');
export const PLATFORM_CHART = path.join(ROOT, 'charts/eshop-platform');
export const NAMESPACE = 'eshop';
export const RELEASE = 'eshop-platform';
export const ENVIRONMENTS = ['kind', 'eks'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Kubernetes version the clusters run (kind-config.yaml, eks-cluster.yaml); templates see it through .Capabilities. */
export const KUBE_VERSION = '1.36.0';

const sources = new WeakMap<object, string>();
/** The file a rendered document came from (Helm's `# Source:` line or the synth file), when known. */
export const sourceOf = (doc: object): string | undefined => sources.get(doc);

/**
 * How Kubernetes tools read YAML: helm and kubectl parse manifests as YAML 1.1 (sigs.k8s.io/yaml) before they
 * send JSON to the server, so Helm's `defaultMode: 0444` is octal 292, not 444 as in YAML 1.2.
 */
export const KUBERNETES_YAML = { version: '1.1' } as const;

/** Parses multi-document YAML (1.2 unless told); empty documents are dropped, a syntax error throws with the file name. */
export function loadYamlDocs(text: string, origin = 'YAML', options: { version?: '1.1' | '1.2' } = {}): Manifest[] {
  const docs: Manifest[] = [];
  for (const doc of parseAllDocuments(text, options)) {
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
/** One temp folder per process for Helm's homes; removed on exit. */
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

export interface PlatformScenario {
  /** The ci scenario, e.g. "kind" for ci/kind-values.yaml. */
  name: string;
  /** Values files in the order helm gets them: the `# ci-base:` environment file (if any), then the ci file. */
  valuesFiles: string[];
}

/** charts/render-ci.sh (owned by the chart): the one way CI renders a chart scenario with stub subcharts. */
export const RENDER_CI = path.join(ROOT, 'charts/render-ci.sh');

/** Every ci/<name>-values.yaml of the chart, with the environment values file its `# ci-base:` header names. */
export function platformScenarios(chartDir: string = PLATFORM_CHART): PlatformScenario[] {
  const ciDir = path.join(chartDir, 'ci');
  const files = existsSync(ciDir) ? readdirSync(ciDir).filter((f) => f.endsWith('-values.yaml')).sort() : [];
  if (files.length === 0) throw new Error(`no ci/*-values.yaml scenarios in ${path.relative(ROOT, chartDir)}`);
  return files.map((f) => {
    const file = path.join(ciDir, f);
    const base = /^# ci-base: *(\S+)/m.exec(readFileSync(file, 'utf8'))?.[1];
    if (!base) throw new Error(`${path.relative(ROOT, file)} has no '# ci-base: <file|none>' header line`);
    return { name: f.replace(/-values\.yaml$/, ''), valuesFiles: [...(base === 'none' ? [] : [path.join(chartDir, base)]), file] };
  });
}

/**
 * The platform scenario paired with an app environment: ci/<env>-values.yaml, which must refine
 * values-<env>.yaml (what users install), so the cross-layer check sees what a cluster would get.
 */
export function platformScenarioFor(env: Environment, chartDir: string = PLATFORM_CHART): PlatformScenario {
  const scenario = platformScenarios(chartDir).find((s) => s.name === env);
  const base = path.join(chartDir, `values-${env}.yaml`);
  if (!scenario) throw new Error(`no ci/${env}-values.yaml in ${path.relative(ROOT, chartDir)} to pair with the cdk8s ${env} environment`);
  if (scenario.valuesFiles[0] !== base) throw new Error(`ci/${env}-values.yaml must have '# ci-base: values-${env}.yaml'`);
  return scenario;
}

/** The values helm sees for a scenario: values.yaml, then each values file, merged. */
export function platformValues(scenario: PlatformScenario, chartDir: string = PLATFORM_CHART): unknown {
  return [path.join(chartDir, 'values.yaml'), ...scenario.valuesFiles]
    .map((f) => parseYaml(readFileSync(f, 'utf8')) as unknown)
    .reduce((merged, next) => mergeValues(merged, next), {});
}

function renderCi(chartDir: string, scenario: string, lint: boolean): { stdout: string; stderr: string } {
  if (!existsSync(RENDER_CI)) throw new Error('charts/render-ci.sh is missing: it renders chart scenarios with stub subcharts');
  const result = spawnSync('bash', [RENDER_CI, chartDir, scenario, ...(lint ? ['--lint'] : [])], {
    env: { ...helmEnv(), HELM: helmBinary(), RELEASE, NAMESPACE, KUBE_VERSION },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`charts/render-ci.sh ${path.relative(ROOT, chartDir)} ${scenario}${lint ? ' --lint' : ''} failed (exit ${String(result.status)}):\n${result.stderr}${result.stdout}`.trim());
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

export interface PlatformRender {
  scenario: PlatformScenario;
  docs: Manifest[];
  /** A second, independent render: generated secrets must differ from the first. */
  again: Manifest[];
  /** `helm lint --strict` output (it passed, or renderPlatform threw). */
  lint: string;
}

/** Lints (--strict) and renders one ci scenario twice through charts/render-ci.sh. */
export function renderPlatform(scenario: PlatformScenario, chartDir: string = PLATFORM_CHART): PlatformRender {
  const first = renderCi(chartDir, scenario.name, true);
  const second = renderCi(chartDir, scenario.name, false);
  const origin = `helm template ${scenario.name}`;
  return { scenario, lint: first.stderr, docs: loadYamlDocs(first.stdout, origin, KUBERNETES_YAML), again: loadYamlDocs(second.stdout, origin, KUBERNETES_YAML) };
}

const valuesArgs = (files: string[]): string[] => files.flatMap((f) => ['--values', f]);

/** `helm lint --strict` of a chart that has no dependencies to stub (e.g. the cdk8s Helm chart). */
export function lintChart(chartDir: string, valuesFiles: string[] = []): string {
  return helm(['lint', '--strict', chartDir, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...valuesArgs(valuesFiles)]);
}

/** `helm template` of a chart that has no dependencies to stub. */
export function templateChart(chartDir: string, release: string, valuesFiles: string[] = []): Manifest[] {
  const out = helm(['template', release, chartDir, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...valuesArgs(valuesFiles)]);
  return loadYamlDocs(out, `helm template ${release}`, KUBERNETES_YAML);
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
  if (typeof result === 'string') return loadYamlDocs(result, origin, KUBERNETES_YAML);
  if (Array.isArray(result)) {
    return result.flatMap((item: unknown) => (typeof item === 'string' ? loadYamlDocs(item, origin, KUBERNETES_YAML) : [tag(item as Manifest, origin)]));
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
  return files.flatMap((f) => loadYamlDocs(readFileSync(path.join(dir, f), 'utf8'), path.relative(ROOT, path.join(dir, f)), KUBERNETES_YAML));
}
