import { AppsV1Api, AutoscalingV2Api, CoreV1Api, CustomObjectsApi, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { prometheusQuery } from './prometheus';
import type { AutoscalerStatus, ClusterClient, Manifest, ReplicaStatus, TestRunStage } from './cluster-client';

const TESTRUN = { group: 'k6.io', version: 'v1alpha1', plural: 'testruns' } as const;
const SCALEDOBJECT = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' } as const;

/** 404 from the API server (client-node 1.x+ throws ApiException with `code`). */
const notFound = (e: unknown): boolean => (e as { code?: number }).code === 404;

type Obj = Record<string, any>;

/** ClusterClient over @kubernetes/client-node (current kubeconfig context) and the Prometheus HTTP API. */
export class KubernetesClusterClient implements ClusterClient {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly custom: CustomObjectsApi;

  constructor(private readonly prometheusUrl: string, kubeConfig: KubeConfig = KubernetesClusterClient.defaultConfig()) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  static defaultConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return kc;
  }

  async applyConfigMap(namespace: string, manifest: Manifest): Promise<void> {
    const body = manifest as unknown as V1ConfigMap;
    try {
      await this.core.replaceNamespacedConfigMap({ name: manifest.metadata.name, namespace, body });
    } catch (e) {
      if (!notFound(e)) throw e;
      await this.core.createNamespacedConfigMap({ namespace, body });
    }
  }

  async deleteTestRun(namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ ...TESTRUN, namespace, name });
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  }

  async createTestRun(namespace: string, manifest: Manifest): Promise<void> {
    await this.custom.createNamespacedCustomObject({ ...TESTRUN, namespace, body: manifest });
  }

  async testRunStage(namespace: string, name: string): Promise<TestRunStage | undefined> {
    try {
      const run = (await this.custom.getNamespacedCustomObject({ ...TESTRUN, namespace, name })) as Obj;
      return run['status']?.['stage'] as string | undefined;
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async deploymentReplicas(namespace: string, name: string): Promise<ReplicaStatus | undefined> {
    try {
      const d = await this.apps.readNamespacedDeployment({ name, namespace });
      return { desired: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async autoscaler(namespace: string, deployment: string): Promise<AutoscalerStatus | undefined> {
    const hpas = await this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace });
    const hpa = hpas.items.find((h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment);
    if (!hpa) return undefined;
    let active: boolean | undefined;
    try {
      const list = (await this.custom.listNamespacedCustomObject({ ...SCALEDOBJECT, namespace })) as Obj;
      const so = (list['items'] as Obj[] | undefined)?.find((s) => s['spec']?.['scaleTargetRef']?.['name'] === deployment);
      const condition = (so?.['status']?.['conditions'] as Obj[] | undefined)?.find((c) => c['type'] === 'Active');
      if (condition) active = condition['status'] === 'True';
    } catch {
      // No KEDA (hpa-external mode): no ScaledObject to read.
    }
    return {
      name: hpa.metadata?.name ?? '?',
      currentReplicas: hpa.status?.currentReplicas ?? 0,
      desiredReplicas: hpa.status?.desiredReplicas ?? 0,
      ...(active === undefined ? {} : { active }),
    };
  }

  async query(promql: string): Promise<number | undefined> {
    return prometheusQuery(this.prometheusUrl, promql);
  }
}
