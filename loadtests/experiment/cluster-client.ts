/** What the experiment runner needs from a cluster: a few Kubernetes reads/writes and Prometheus instant queries. */

/** k6-operator TestRun stages (status.stage); `finished` and `error` are final. */
export type TestRunStage = 'initialization' | 'initialized' | 'created' | 'started' | 'stopped' | 'finished' | 'error' | string;

export const FINAL_STAGES: readonly string[] = ['finished', 'error'];

export interface ReplicaStatus {
  /** spec.replicas (what the autoscaler set). */
  readonly desired: number;
  /** status.readyReplicas. */
  readonly ready: number;
}

/** The HPA scaling the Deployment (KEDA's keda-hpa-… or the hpa-external one). */
export interface AutoscalerStatus {
  readonly name: string;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  /** KEDA ScaledObject condition Active (undefined without KEDA). */
  readonly active?: boolean;
}

export type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

export interface ClusterClient {
  /** Creates or replaces a namespaced object (the scripts' ConfigMap). */
  applyConfigMap(namespace: string, manifest: Manifest): Promise<void>;
  /** Deletes a TestRun of that name if one exists (a finished one blocks re-creating it). */
  deleteTestRun(namespace: string, name: string): Promise<void>;
  createTestRun(namespace: string, manifest: Manifest): Promise<void>;
  /** status.stage of the TestRun; undefined while it has none or once it is gone. */
  testRunStage(namespace: string, name: string): Promise<TestRunStage | undefined>;
  deploymentReplicas(namespace: string, name: string): Promise<ReplicaStatus | undefined>;
  autoscaler(namespace: string, deployment: string): Promise<AutoscalerStatus | undefined>;
  /** Prometheus instant query reduced to one number (sum of the vector); undefined when the result is empty. */
  query(promql: string): Promise<number | undefined>;
}
