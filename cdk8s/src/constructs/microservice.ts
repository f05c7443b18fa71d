import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { ServiceMonitor } from '../../imports/monitoring-monitoring.coreos.com';
import { TopologySpreadSettings, ResourceSettings } from '../environments';
import { ComponentRole, HTTP_PORT_NAME, RUN_AS_ID } from '../platform-contract';
import { componentLabels, selectorLabels } from './labels';

/** A variable read from a key of a Secret (the only way secrets reach a pod). */
export interface SecretEnvRef {
  readonly secretName: string;
  readonly key: string;
}

/** A variable read from a key of a ConfigMap another layer owns (e.g. the platform's auth settings). */
export interface ConfigMapEnvRef {
  readonly configMapName: string;
  readonly key: string;
}

export interface MicroserviceProps {
  /** Name of the Deployment, Service, ServiceAccount, ConfigMap, PDB and ServiceMonitor. */
  readonly name: string;
  readonly role: ComponentRole;
  /** Full image reference including the tag. */
  readonly image: string;
  /** @default 'IfNotPresent' */
  readonly imagePullPolicy?: string;
  /** Container port, named `http`: API, /healthz, /readyz and /metrics. */
  readonly port: number;
  /** Replaces the image CMD; the ENTRYPOINT (tini as PID 1) stays. @default - the image's CMD (node dist/main.js) */
  readonly args?: readonly string[];
  /** Non-secret variables; they go to a ConfigMap loaded with envFrom. */
  readonly env: Readonly<Record<string, string>>;
  /** Secret variables, each a secretKeyRef. @default - none */
  readonly secretEnv?: Readonly<Record<string, SecretEnvRef>>;
  /** Variables from ConfigMaps the app does not own, each a configMapKeyRef. @default - none */
  readonly configMapEnv?: Readonly<Record<string, ConfigMapEnvRef>>;
  /** Variables from the pod's own fields (downward API fieldRef, e.g. `metadata.name`). @default - none */
  readonly podFieldEnv?: Readonly<Record<string, string>>;
  /**
   * Variables whose values refer to others as `$(NAME)`, expanded by the kubelet. They go into the container's
   * `env` after every other source (a ConfigMap loaded with envFrom is never expanded). @default - none
   */
  readonly expandedEnv?: Readonly<Record<string, string>>;
  /** Runs `args` (as the image CMD) in initContainer `migrate` with the same env before the app starts. @default - no migration */
  readonly migration?: { readonly args: readonly string[]; readonly resources: ResourceSettings };
  readonly resources: ResourceSettings;
  /** Fixed replica count; leave undefined when an autoscaler owns `spec.replicas`. @default - omitted */
  readonly replicas?: number;
  /** @default '/readyz' */
  readonly readinessPath?: string;
  /** @default '/healthz' */
  readonly livenessPath?: string;
  /** SHUTDOWN_DELAY_MS / SHUTDOWN_TIMEOUT_MS; the grace period is derived from them. */
  readonly shutdown: { readonly delayMs: number; readonly timeoutMs: number };
  readonly topologySpread: TopologySpreadSettings;
  /** @default - none */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /** Value of app.kubernetes.io/version on pods. */
  readonly version: string;
  /** @default '30s' */
  readonly scrapeInterval?: string;
}

/** Seconds Kubernetes waits after SIGTERM: the readiness delay, the drain bound, and a margin for the runtime. */
export function terminationGracePeriodSeconds(shutdown: { delayMs: number; timeoutMs: number }): number {
  return Math.ceil((shutdown.delayMs + shutdown.timeoutMs) / 1000) + 5;
}

/**
 * One application process kind: Deployment (non-root, read-only root FS, probes, spread), Service, ServiceAccount
 * without token, PodDisruptionBudget, ConfigMap of its settings and a ServiceMonitor for /metrics.
 */
export class Microservice extends Construct {
  public readonly name: string;
  public readonly port: number;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly selectorLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const { name, role, port } = props;
    this.name = name;
    this.port = port;
    // A variable has one source. Checked in this order, so a clash names the later source in terms of the earlier.
    const sources = [
      ['env', props.env], ['secretEnv', props.secretEnv], ['configMapEnv', props.configMapEnv],
      ['podFieldEnv', props.podFieldEnv], ['expandedEnv', props.expandedEnv],
    ] as const;
    const seen = new Map<string, string>();
    for (const [field, vars] of sources) {
      for (const envName of Object.keys(vars ?? {})) {
        const first = seen.get(envName);
        if (first === 'env') throw new Error(`${name}: env.${envName}=${JSON.stringify(props.env[envName])}: also listed in ${field}; a variable has one source`);
        if (first !== undefined) throw new Error(`${name}: ${first}.${envName}: also listed in ${field}; a variable has one source`);
        seen.set(envName, field);
      }
    }
    if (props.replicas !== undefined && (!Number.isInteger(props.replicas) || props.replicas < 1)) {
      throw new Error(`${name}: replicas=${props.replicas}: must be an integer ≥ 1 (or undefined when an autoscaler owns it)`);
    }

    const labels = componentLabels(name, role);
    this.selectorLabels = selectorLabels(name);

    const configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name, labels },
      data: { ...props.env },
    });
    const configHash = createHash('sha256').update(JSON.stringify(Object.entries(props.env).sort())).digest('hex').slice(0, 16);

    const serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: {
        name,
        labels,
        ...(props.serviceAccountAnnotations && Object.keys(props.serviceAccountAnnotations).length > 0
          ? { annotations: { ...props.serviceAccountAnnotations } }
          : {}),
      },
      automountServiceAccountToken: false,
    });

    const envFrom: k8s.EnvFromSource[] = [{ configMapRef: { name: configMap.name } }];
    // Referenced variables, ConfigMap keys first: both kinds in one `env` list, which the kubelet applies after envFrom.
    const refEnv: k8s.EnvVar[] = [
      ...Object.entries(props.configMapEnv ?? {}).map(([envName, ref]) => ({
        name: envName,
        valueFrom: { configMapKeyRef: { name: ref.configMapName, key: ref.key } },
      })),
      ...Object.entries(props.secretEnv ?? {}).map(([envName, ref]) => ({
        name: envName,
        valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } },
      })),
      ...Object.entries(props.podFieldEnv ?? {}).map(([envName, fieldPath]) => ({
        name: envName,
        valueFrom: { fieldRef: { fieldPath } },
      })),
      // Last: $(NAME) expands only to variables defined before it.
      ...Object.entries(props.expandedEnv ?? {}).map(([envName, value]) => ({ name: envName, value })),
    ];
    const securityContext: k8s.SecurityContext = {
      runAsNonRoot: true,
      runAsUser: RUN_AS_ID,
      runAsGroup: RUN_AS_ID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const tmpMount: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
    const toResources = (r: ResourceSettings): k8s.ResourceRequirements => ({
      requests: { cpu: k8s.Quantity.fromString(r.requests.cpu), memory: k8s.Quantity.fromString(r.requests.memory) },
      limits: { cpu: k8s.Quantity.fromString(r.limits.cpu), memory: k8s.Quantity.fromString(r.limits.memory) },
    });
    const httpGet = (path: string): k8s.HttpGetAction => ({ path, port: k8s.IntOrString.fromString(HTTP_PORT_NAME) });
    const imagePullPolicy = props.imagePullPolicy ?? 'IfNotPresent';

    const initContainers: k8s.Container[] | undefined = props.migration && [{
      name: 'migrate',
      image: props.image,
      imagePullPolicy,
      args: [...props.migration.args],
      envFrom,
      ...(refEnv.length > 0 ? { env: refEnv } : {}),
      resources: toResources(props.migration.resources),
      securityContext,
      volumeMounts: [tmpMount],
    }];

    const spread = (topologyKey: string, whenUnsatisfiable: string): k8s.TopologySpreadConstraint => ({
      topologyKey,
      maxSkew: 1,
      whenUnsatisfiable,
      labelSelector: { matchLabels: this.selectorLabels },
      // Spread each rollout's ReplicaSet on its own, so old pods being replaced do not skew the count.
      matchLabelKeys: ['pod-template-hash'],
      // A zone whose nodes all carry taints the pod does not tolerate is no domain to spread over.
      nodeTaintsPolicy: 'Honor',
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name, labels },
      spec: {
        ...(props.replicas === undefined ? {} : { replicas: props.replicas }),
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.selectorLabels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: {
            labels: { ...labels, 'app.kubernetes.io/version': props.version },
            annotations: { 'checksum/config': configHash },
          },
          spec: {
            serviceAccountName: serviceAccount.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: terminationGracePeriodSeconds(props.shutdown),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: RUN_AS_ID,
              runAsGroup: RUN_AS_ID,
              fsGroup: RUN_AS_ID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: [
              spread('topology.kubernetes.io/zone', props.topologySpread.zone),
              spread('kubernetes.io/hostname', props.topologySpread.hostname),
            ],
            ...(initContainers ? { initContainers } : {}),
            containers: [{
              name,
              image: props.image,
              imagePullPolicy,
              ...(props.args ? { args: [...props.args] } : {}),
              ports: [{ name: HTTP_PORT_NAME, containerPort: port, protocol: 'TCP' }],
              envFrom,
              ...(refEnv.length > 0 ? { env: refEnv } : {}),
              resources: toResources(props.resources),
              securityContext,
              // Startup covers connecting to MySQL/Kafka; liveness only starts afterwards.
              startupProbe: { httpGet: httpGet(props.livenessPath ?? '/healthz'), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
              livenessProbe: { httpGet: httpGet(props.livenessPath ?? '/healthz'), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
              readinessProbe: { httpGet: httpGet(props.readinessPath ?? '/readyz'), periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
              volumeMounts: [tmpMount],
            }],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name, labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [{ name: HTTP_PORT_NAME, port, targetPort: k8s.IntOrString.fromString(HTTP_PORT_NAME), protocol: 'TCP' }],
      },
    });

    // maxUnavailable (not minAvailable) so a single-replica workload never blocks a node drain.
    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name, labels },
      spec: {
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: this.selectorLabels },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });

    new ServiceMonitor(this, 'service-monitor', {
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: this.selectorLabels },
        // honorLabels: the process's own `service` label (api-gateway, product-service, …) is kept instead of being
        // renamed exported_service by the Kubernetes Service name, so dashboards and alerts select the same
        // series in a cluster as against a local Prometheus (docs/metrics.md). `job` still names the Service.
        endpoints: [{ port: HTTP_PORT_NAME, path: '/metrics', interval: props.scrapeInterval ?? '30s', honorLabels: true }],
      },
    });
  }
}
