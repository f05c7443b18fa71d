/**
 * The local control plane of local/cluster.sh (a real kube-apiserver, controller manager and scheduler on etcd,
 * kwok playing the nodes), as tests use it: start it if it is not running, run the user's own commands
 * (`local/cluster.sh deploy`, kubectl, helm) against it, read objects back as JSON.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './render';

export const CLUSTER_SCRIPT = path.join(ROOT, 'local/cluster.sh');
export const KUBECONFIG = path.join(ROOT, '.local/cluster/kubeconfig');
export const KUBECTL = path.join(ROOT, '.local/tools/bin/kubectl');
export const CLUSTER_HELM = path.join(ROOT, '.local/tools/bin/helm');

export type KubeObject = Record<string, any> & { apiVersion: string; kind: string; metadata: Record<string, any> };

function run(file: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(file, args, {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, KUBECONFIG },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** local/cluster.sh <args>; throws with its output when it fails. */
export function clusterScript(...args: string[]): string {
  const r = run('bash', [CLUSTER_SCRIPT, ...args]);
  if (r.status !== 0) throw new Error(`local/cluster.sh ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stderr + r.stdout;
}

/** Starts the control plane unless it runs (a no-op in CI, where local/platform.sh test started it). */
export function ensureControlPlane(): void {
  clusterScript('up', '--no-deploy');
}

/** kubectl against the local cluster: the status, stdout and stderr, never a throw. */
export function kubectlRun(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  return run(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], input);
}

/** kubectl that must succeed. */
export function kubectl(args: string[], input?: string): string {
  const r = kubectlRun(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const kubectlJson = <T = KubeObject>(args: string[]): T => JSON.parse(kubectl([...args, '-o', 'json'])) as T;

/** The items of `kubectl get <kinds>` in a namespace (or all namespaces). */
export function listObjects(kinds: string, namespace?: string): KubeObject[] {
  return kubectlJson<{ items: KubeObject[] }>(['get', kinds, ...(namespace ? ['-n', namespace] : ['-A'])]).items;
}

/** helm (the one local/cluster.sh builds) against the local cluster, with its homes under .local/cluster/helm. */
export function helmRun(args: string[]): { status: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG };
  for (const [k, sub] of [['HELM_CACHE_HOME', 'cache'], ['HELM_CONFIG_HOME', 'config'], ['HELM_DATA_HOME', 'data']] as const) {
    env[k] = path.join(ROOT, '.local/cluster/helm', sub);
  }
  const result = spawnSync(CLUSTER_HELM, ['--kubeconfig', KUBECONFIG, ...args], { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Every namespaced resource type the server serves that can be listed (built-in, CRDs, aggregated). */
export function namespacedResourceTypes(): string[] {
  return kubectl(['api-resources', '--namespaced=true', '--verbs=list', '-o', 'name'])
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The stable key of an object: kind/namespace/name. */
export const keyOf = (o: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }, defaultNamespace = ''): string =>
  `${String(o.kind)}/${String(o.metadata?.namespace ?? defaultNamespace)}/${String(o.metadata?.name)}`;

export const execQuiet = (cmd: string, args: string[]): string => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
