/**
 * The experiment's side of the local Kubernetes control plane (local/cluster.sh): preflight checks, the
 * order consumers' objects taken from the cdk8s app and pointed at this run's local Kafka topics and database,
 * and reads of what the API server says (HPA, Deployment, pods) through kubectl.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../bench/stack';

const run = promisify(execFile);

export const KUBECONFIG = process.env.ESHOP_KUBECONFIG ?? path.join(REPO_ROOT, '.local/cluster/kubeconfig');
const KUBECTL = path.join(REPO_ROOT, '.local/tools/bin/kubectl');

/** The dedicated node whose pods the local node agent runs as real processes. */
export const LOCAL_NODE = 'eshop-local';
export const LOCAL_NODE_TAINT = { key: 'eshop.io/local-processes', value: 'true', effect: 'NoSchedule' } as const;
export const LOCAL_NODE_LABELS = { 'eshop.io/pool': 'local-processes', 'topology.kubernetes.io/zone': 'zone-a' } as const;

export class ClusterUnavailableError extends Error {}

type Json = Record<string, any>;

export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

export const kubectlJson = async <T = Json>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

/** Refuses to start, with one line saying what to run, unless the control plane and KEDA's metrics API answer. */
export async function checkCluster(): Promise<{ kubernetesVersion: string; kedaVersion: string }> {
  const hint = 'start it with: local/platform.sh cluster up';
  if (!existsSync(KUBECTL) || !existsSync(KUBECONFIG)) throw new ClusterUnavailableError(`the local Kubernetes control plane is not set up (${KUBECONFIG.startsWith(`${REPO_ROOT}/`) ? path.relative(REPO_ROOT, KUBECONFIG) : KUBECONFIG} missing): ${hint}`);
  let version: { gitVersion: string };
  try {
    version = JSON.parse(await kubectl(['get', '--raw', '/version', '--request-timeout=5s'])) as { gitVersion: string };
  } catch {
    throw new ClusterUnavailableError(`the local Kubernetes API server does not answer: ${hint}`);
  }
  const apiService = await kubectlJson(['get', 'apiservice', 'v1beta1.external.metrics.k8s.io']).catch(() => undefined);
  const available = apiService?.status?.conditions?.find((c: Json) => c.type === 'Available')?.status === 'True';
  if (!available) throw new ClusterUnavailableError(`KEDA's external metrics API (v1beta1.external.metrics.k8s.io) is not Available: ${hint}`);
  const operator = await fetch(`http://127.0.0.1:${process.env.ESHOP_KEDA_OPERATOR_HEALTH_PORT ?? 9668}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok).catch(() => false);
  if (!operator) throw new ClusterUnavailableError(`KEDA's operator does not answer on its health port: ${hint} (it restarts what is not running)`);
  return { kubernetesVersion: version.gitVersion, kedaVersion: kedaVersion() };
}

/** The KEDA release local/cluster.sh builds (its KEDA_VERSION line). */
function kedaVersion(): string {
  const script = require('node:fs').readFileSync(path.join(REPO_ROOT, 'local/cluster.sh'), 'utf8') as string;
  return /^KEDA_VERSION=(\S+)/m.exec(script)?.[1] ?? 'unknown';
}

export interface ConsumerSettings {
  readonly namespace: string;
  readonly brokers: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly group: string;
  readonly db: { host: string; port: number; user: string; password: string; name: string };
  readonly productServiceUrl: string;
  /** The experiment's KEDA values: polling and how fast the HPA may scale in. */
  readonly pollingIntervalSeconds: number;
  readonly scaleDownStabilizationSeconds: number;
  readonly lagThreshold?: string;
  readonly maxReplicas?: number;
}

/**
 * The order consumers' objects of the cdk8s kind app, for one run: the ConfigMap's and Secret's settings point at
 * this run's local topics, group and database (in a cluster they name eshop-kafka-bootstrap and eshop-mysql); the
 * Deployment is pinned to the local node; the ScaledObject is the app's own, with only the bootstrap address, the
 * topic and group names, the polling interval and the scale-in window changed. Everything else (lag threshold,
 * replicas bounds, resources, probes, grace period) is the app's.
 */
export function consumerManifests(appDocs: Json[], s: ConsumerSettings): Json[] {
  const name = 'order-consumer';
  const pick = (kind: string) => {
    const doc = appDocs.find((d) => d.kind === kind && d.metadata?.name === name);
    if (!doc) throw new Error(`the cdk8s kind app has no ${kind}/${name}`);
    return structuredClone(doc) as Json;
  };
  const withNamespace = (doc: Json): Json => ({ ...doc, metadata: { ...doc.metadata, namespace: s.namespace } });

  const config = withNamespace(pick('ConfigMap'));
  config.data = {
    ...config.data,
    KAFKA_BROKERS: s.brokers,
    KAFKA_ORDER_TOPIC: s.topic,
    ORDER_DLQ_TOPIC: s.dlqTopic,
    ORDER_CONSUMER_GROUP: s.group,
    ORDER_DB_HOST: s.db.host,
    ORDER_DB_PORT: String(s.db.port),
    ORDER_DB_NAME: s.db.name,
    PRODUCT_SERVICE_URL: s.productServiceUrl,
    HTTP_HOST: '127.0.0.1',
  };

  const deployment = withNamespace(pick('Deployment'));
  const pod = deployment.spec.template.spec;
  // The Secret the platform chart generates in a cluster; here the local MariaDB's account.
  const secretNames = new Set<string>(
    pod.containers.flatMap((c: Json) => (c.env ?? []).map((e: Json) => e.valueFrom?.secretKeyRef?.name).filter(Boolean)),
  );
  const secrets = [...secretNames].map((secretName) => ({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: s.namespace }, type: 'Opaque',
    stringData: { username: s.db.user, password: s.db.password },
  }));
  pod.nodeSelector = { ...(pod.nodeSelector ?? {}), 'eshop.io/pool': LOCAL_NODE_LABELS['eshop.io/pool'] };
  pod.tolerations = [...(pod.tolerations ?? []), { ...LOCAL_NODE_TAINT, operator: 'Equal' }];
  // One local node: a spread over zones or hosts could never be satisfied (and kind's are ScheduleAnyway anyway).
  delete pod.topologySpreadConstraints;

  const scaled = withNamespace(pick('ScaledObject'));
  scaled.spec.pollingInterval = s.pollingIntervalSeconds;
  if (s.maxReplicas !== undefined) scaled.spec.maxReplicaCount = s.maxReplicas;
  scaled.spec.advanced = {
    ...(scaled.spec.advanced ?? {}),
    horizontalPodAutoscalerConfig: {
      ...(scaled.spec.advanced?.horizontalPodAutoscalerConfig ?? {}),
      behavior: {
        ...(scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior ?? {}),
        // Only the window changes: the app's scale-in policies (a quarter of the pods a minute) stay.
        scaleDown: { ...(scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown ?? {}), stabilizationWindowSeconds: s.scaleDownStabilizationSeconds },
      },
    },
  };
  for (const trigger of scaled.spec.triggers as Json[]) {
    trigger.metadata = { ...trigger.metadata, bootstrapServers: s.brokers, topic: s.topic, consumerGroup: s.group };
    if (s.lagThreshold) trigger.metadata.lagThreshold = s.lagThreshold;
  }

  const others = appDocs
    .filter((d) => ['ServiceAccount', 'PodDisruptionBudget'].includes(d.kind) && d.metadata?.name === name)
    .map((d) => withNamespace(structuredClone(d) as Json));
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace } }, ...others, ...secrets, config, deployment, scaled];
}

export async function applyManifests(docs: Json[]): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=eshop-autoscaling-experiment', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
}

export async function deleteNamespace(namespace: string): Promise<void> {
  await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=120s']).catch(() => undefined);
}

/** What the API server says about the consumers' scaling, read in one go per sample. */
export interface ScalingStatus {
  readonly hpaDesired: number | null;
  readonly hpaCurrent: number | null;
  /** The external metric's value the HPA last read from KEDA through the aggregation layer (total lag). */
  readonly kedaMetric: number | null;
  readonly deploymentReplicas: number | null;
  readonly readyPods: number;
  readonly scaledObjectActive: boolean | null;
}

const quantity = (v: unknown): number | null => {
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)(m|k)?$/.exec(v);
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'm' ? 1e-3 : m[2] === 'k' ? 1e3 : 1);
};

export async function scalingStatus(namespace: string, deployment = 'order-consumer'): Promise<ScalingStatus> {
  const list = await kubectlJson<{ items: Json[] }>(['-n', namespace, 'get', 'hpa,deployment,pods,scaledobjects.keda.sh']);
  const hpa = list.items.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec?.scaleTargetRef?.name === deployment);
  const dep = list.items.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment);
  const so = list.items.find((o) => o.kind === 'ScaledObject');
  const pods = list.items.filter((o) => o.kind === 'Pod' && !o.metadata.deletionTimestamp);
  const metric = (hpa?.status?.currentMetrics as Json[] | undefined)?.find((m) => m.type === 'External')?.external?.current;
  // KEDA's metric is AverageValue (lag per replica); times current replicas is the total lag KEDA reported.
  const average = quantity(metric?.averageValue);
  const current = hpa?.status?.currentReplicas ?? null;
  return {
    hpaDesired: hpa?.status?.desiredReplicas ?? null,
    hpaCurrent: current,
    kedaMetric: metric?.value !== undefined ? quantity(metric.value) : average !== null && current !== null ? Math.round(average * current) : null,
    deploymentReplicas: dep?.spec?.replicas ?? null,
    readyPods: pods.filter((p) => p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True')).length,
    scaledObjectActive: so ? so.status?.conditions?.find((c: Json) => c.type === 'Active')?.status === 'True' : null,
  };
}

/** Deletes one Ready consumer pod (as `kubectl delete pod` would): the agent gives it its grace period. */
export async function deleteOneConsumerPod(namespace: string): Promise<string | undefined> {
  const pods = await kubectlJson<{ items: Json[] }>(['-n', namespace, 'get', 'pods', '-l', 'app.kubernetes.io/name=order-consumer']);
  const victim = pods.items.find((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
  if (!victim) return undefined;
  await kubectl(['-n', namespace, 'delete', 'pod', victim.metadata.name, '--wait=false']);
  return victim.metadata.name as string;
}
