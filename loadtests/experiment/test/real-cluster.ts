/**
 * What the experiment runner's real-server tests need from the local control plane (local/cluster.sh): a namespace
 * of their own with an order-consumer Deployment and the ScaledObject and HPA cdk8s synthesizes for it; the test
 * playing the operators that do not run here (k6-operator, KEDA) by writing the status subresources they would
 * write; and the runner's client with Prometheus, which is not part of these tests, answered by the test.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { synthEnvironment, synthLoadTests } from '../../../cdk8s/src/synth';
import { KUBECONFIG, type KubeObject, kubectl, kubectlJson, kubectlRun } from '../../../test/k8s/support/local-cluster';
import type { Manifest } from '../cluster-client';
import { LAG_QUERY } from '../experiment';
import { KubernetesClusterClient } from '../kubernetes-client';

const ROOT = path.resolve(__dirname, '../../..');
const CRDS = ['k6-operator/k6.io_testruns.yaml', 'keda/keda.sh_scaledobjects.yaml'].map((f) => path.join(ROOT, 'test/k8s/schemas/crds', f));
/** ESHOP_* variables of the shell must not change what is synthesized. */
const NO_ENV = {} as NodeJS.ProcessEnv;

export const DEPLOYMENT = 'order-consumer';
/** The HPA of the `hpa-external` mode carries the Deployment's name. */
export const HPA = DEPLOYMENT;

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  return kc;
}

/** The CRDs of TestRun and ScaledObject, as local/cluster.sh deploy installs them, when they are not served yet. */
export function ensureCrds(): void {
  if (kubectlRun(['get', 'crd', 'testruns.k6.io', 'scaledobjects.keda.sh']).status === 0) return;
  kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=eshop-crds', ...CRDS.flatMap((f) => ['-f', f])]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/testruns.k6.io', 'crd/scaledobjects.keda.sh']);
}

export function createNamespace(): string {
  const ns = `eshop-exp-${randomBytes(4).toString('hex')}`;
  kubectl(['create', 'namespace', ns]);
  return ns;
}

export function apply(ns: string, objects: readonly object[]): void {
  kubectl(['apply', '-n', ns, '--server-side', '--force-conflicts', '--field-manager=experiment-test', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

const synthesized = new Map<string, Manifest[]>();
const loadTestsFor = (ns: string): Manifest[] => {
  if (!synthesized.has(ns)) synthesized.set(ns, synthLoadTests('kind', { namespace: ns }, NO_ENV) as Manifest[]);
  return synthesized.get(ns)!;
};

/** The scripts' ConfigMap and the scenario's TestRun as `npm run synth` writes them for namespace `ns` (the CLI's input). */
export function synthesizedLoadTest(ns: string, scenario: string): { scripts: Manifest; testRun: Manifest; all: Manifest[] } {
  const all = JSON.parse(JSON.stringify(loadTestsFor(ns))) as Manifest[];
  const testRun = all.find((d) => d.kind === 'TestRun' && d.metadata.name === `k6-${scenario}`);
  const scripts = all.find((d) => d.kind === 'ConfigMap');
  if (!testRun || !scripts) throw new Error(`no TestRun k6-${scenario} or scripts ConfigMap in the synthesized load tests`);
  return { scripts, testRun, all };
}

/**
 * The order consumers as the runner sees them, from what cdk8s synthesizes for namespace `ns`: a Deployment kwok
 * runs (one replica), the ScaledObject of the `keda` mode and the HPA of the `hpa-external` mode (same replica
 * range, behaviour and lag target as the one KEDA would derive from that ScaledObject; the runner finds either by
 * its scale target). The ScaledObject starts out inactive, as KEDA reports it once it polled an empty topic.
 */
export function installOrderConsumers(ns: string): void {
  const labels = { 'app.kubernetes.io/name': DEPLOYMENT };
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: DEPLOYMENT, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: DEPLOYMENT, image: 'eshop/order-consumer:experiment-test',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
  const ofDeployment = (docs: Record<string, unknown>[], kind: string) => {
    const found = (docs as KubeObject[]).find((d) => d.kind === kind && d['spec']?.scaleTargetRef?.name === DEPLOYMENT);
    if (!found) throw new Error(`cdk8s synthesizes no ${kind} for ${DEPLOYMENT}`);
    return found;
  };
  const scaledObject = ofDeployment(synthEnvironment('kind', { namespace: ns }, NO_ENV), 'ScaledObject');
  // Should a KEDA operator run in this cluster, paused keeps it from scaling and from managing an HPA for this
  // ScaledObject: the test plays KEDA (without a KEDA the annotation changes nothing).
  scaledObject.metadata['annotations'] = { ...scaledObject.metadata['annotations'], 'autoscaling.keda.sh/paused': 'true' };
  const hpa = ofDeployment(synthEnvironment('kind', { namespace: ns, orderConsumer: { autoscaling: { mode: 'hpa-external' } } }, NO_ENV), 'HorizontalPodAutoscaler');
  if (hpa.metadata['name'] !== HPA) throw new Error(`the hpa-external HPA is named ${hpa.metadata['name']}, not ${HPA}`);
  apply(ns, [deployment, scaledObject, hpa]);
  setScalerActive(ns, false);
}

/** Deletes the namespace without waiting; drops KEDA's finalizer first, which no KEDA may be left to remove. */
export function deleteNamespace(ns: string): void {
  kubectlRun(['-n', ns, 'patch', 'scaledobject', DEPLOYMENT, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  kubectlRun(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
}

/** Writes TestRun status.stage, as k6-operator does while it runs the test. */
export function setStage(ns: string, testRun: string, stage: string): void {
  kubectl(['-n', ns, 'patch', 'testrun', testRun, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { stage } })]);
}

type Condition = { type: string; status: string; reason?: string; message?: string };

/**
 * Sets the ScaledObject's Active condition as KEDA's scale loop does, keeping the other conditions (KEDA's, should
 * one run); the patch carries the resourceVersion read, so a concurrent status write is retried, not overwritten.
 */
export function setScalerActive(ns: string, active: boolean): void {
  const condition: Condition = active
    ? { type: 'Active', status: 'True', reason: 'ScalerActive', message: 'Scaling is performed because triggers are active' }
    : { type: 'Active', status: 'False', reason: 'ScalerNotActive', message: 'Scaling is not performed because triggers are not active' };
  for (let attempt = 1; ; attempt++) {
    const so = kubectlJson(['-n', ns, 'get', 'scaledobject', DEPLOYMENT]);
    const current = (so['status']?.conditions ?? []) as Condition[];
    const defaults: Condition[] = [
      { type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is defined correctly and is ready for scaling' },
      { type: 'Fallback', status: 'False', reason: 'NoFallbackFound', message: 'No fallbacks are active on this scaled object' },
      { type: 'Paused', status: 'False' },
    ];
    const conditions = [...current.filter((c) => c.type !== 'Active'), condition, ...defaults.filter((d) => !current.some((c) => c.type === d.type))];
    const patch = { metadata: { resourceVersion: so.metadata['resourceVersion'] }, status: { conditions } };
    const r = kubectlRun(['-n', ns, 'patch', 'scaledobject', DEPLOYMENT, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
    if (r.status === 0) return;
    if (attempt === 5 || !/Conflict|the object has been modified/.test(r.stderr)) throw new Error(`patching ScaledObject ${ns}/${DEPLOYMENT} status: ${r.stderr}`);
  }
}

/**
 * Sets the HPA's replica range. Nothing serves the HPA's external lag metric here (no prometheus-adapter), so the
 * HPA controller cannot compute a count from it; it still enforces the range ("Current number of replicas below Spec.MinReplicas"), which
 * makes the real controller scale the Deployment to `replicas` and report it as desired.
 */
export function holdHpaAt(ns: string, replicas: number): void {
  kubectl(['-n', ns, 'patch', 'hpa', HPA, '--type=merge', '-p', JSON.stringify({ spec: { minReplicas: replicas, maxReplicas: replicas } })]);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined; fails naming `what` and the last thing seen. */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s${last === undefined ? '' : ` (last: ${String(last)})`}`);
    await sleep(250);
  }
}

/** The Deployment's spec.replicas and status.readyReplicas, as kubectl shows them. */
export function deploymentReplicas(ns: string): { desired: number; ready: number } {
  const d = kubectlJson(['-n', ns, 'get', 'deployment', DEPLOYMENT]);
  return { desired: d['spec'].replicas ?? 0, ready: d['status']?.readyReplicas ?? 0 };
}

/** Waits until the Deployment has exactly `n` replicas, all Ready, and no others left terminating. */
export async function untilReady(ns: string, n: number): Promise<void> {
  await until(`${ns}/${DEPLOYMENT} at ${n} ready replicas`, () => {
    const r = deploymentReplicas(ns);
    const pods = kubectlJson<{ items: KubeObject[] }>(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/name=${DEPLOYMENT}`]).items;
    return r.desired === n && r.ready === n && pods.length === n ? true : undefined;
  });
}

/** Replaces the Deployment's pods with fresh ones (see untilNodesStayReady) and waits for them to be Ready. */
export async function freshPods(ns: string): Promise<void> {
  kubectl(['-n', ns, 'delete', 'pods', '-l', `app.kubernetes.io/name=${DEPLOYMENT}`, '--wait=true']);
  await untilReady(ns, deploymentReplicas(ns).desired);
}

/** kube-controller-manager's --node-monitor-grace-period (its default; local/cluster.sh does not set it). */
const NODE_MONITOR_GRACE_SECONDS = 50;

/**
 * Waits until no kwok node will miss its heartbeat within the next `seconds`. A node's heartbeat is the later of
 * its Ready condition's lastHeartbeatTime and its Lease's renewTime; past the grace period the node lifecycle
 * controller marks its pods Ready=False ("Node is not ready") and kwok, whose pod-ready stage applies only to
 * Pending pods, never makes them Ready again. With kwok renewing node Leases this returns at once; without (kwok
 * run with no --node-lease-duration-seconds, posting node status about every 55 s) every node misses the grace
 * period for a few seconds a minute, so a test counting Ready replicas starts right after a heartbeat.
 */
export async function untilNodesStayReady(seconds: number): Promise<void> {
  await until(`kwok nodes with a heartbeat fresh enough to stay Ready for ${seconds} s`, () => {
    const nodes = kubectlJson<{ items: KubeObject[] }>(['get', 'nodes', '-l', 'kwok.x-k8s.io/node=fake']).items;
    const leases = new Map(kubectlJson<{ items: KubeObject[] }>(['-n', 'kube-node-lease', 'get', 'leases']).items
      .map((l) => [l.metadata['name'] as string, Date.parse(l['spec']?.renewTime ?? '') || 0]));
    const lastSeen = nodes.map((n) => {
      const ready = (n['status'].conditions as { type: string; status: string; lastHeartbeatTime: string }[]).find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? Math.max(Date.parse(ready.lastHeartbeatTime), leases.get(n.metadata['name']) ?? 0) : 0;
    });
    if (lastSeen.length === 0) return undefined;
    return (Date.now() - Math.min(...lastSeen)) / 1000 + seconds < NODE_MONITOR_GRACE_SECONDS ? true : undefined;
  }, 90_000);
}

type Metrics = { lag?: number; requestRate?: number; p95?: number };

/**
 * The real client for everything Kubernetes. There is no Prometheus in these tests, so `query` — and only
 * `query` — answers from `metrics`, which the test sets as Kafka's lag and k6's remote write would move.
 * It also counts the runner's samples (one lag query each) so the test can wait for the runner to have seen a change.
 */
export class ClusterWithoutPrometheus extends KubernetesClusterClient {
  metrics: Metrics = {};
  private started = 0;
  private readonly waiting: { count: number; resolve: () => void }[] = [];

  constructor(kc: KubeConfig) {
    super('http://prometheus.invalid', kc);
  }

  override async query(promql: string): Promise<number | undefined> {
    if (promql === LAG_QUERY) {
      this.started++;
      for (const w of this.waiting.filter((x) => x.count <= this.started)) {
        this.waiting.splice(this.waiting.indexOf(w), 1);
        w.resolve();
      }
      return this.metrics.lag;
    }
    if (promql.startsWith('sum(rate(k6_http_reqs_total{')) return this.metrics.requestRate;
    if (promql.startsWith('max(k6_http_req_duration_p95{')) return this.metrics.p95;
    throw new Error(`unexpected query ${promql}`);
  }

  /**
   * Resolves once the runner has completed one whole sample taken after this call (it started the next one: all
   * reads of a sample start together, the next sample only after them). Fails if the run ends first.
   */
  nextSample(run: Promise<{ outcome: string }>): Promise<void> {
    const seen = new Promise<void>((resolve) => this.waiting.push({ count: this.started + 2, resolve }));
    const ended = run.then((r) => Promise.reject(new Error(`the runner stopped before the test was done (outcome: ${r.outcome})`)));
    return Promise.race([seen, ended]);
  }
}
