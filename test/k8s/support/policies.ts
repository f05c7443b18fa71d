/**
 * Policy checks over a set of rendered manifests (one Helm render, one cdk8s environment, or both layers
 * together): only what the API server cannot judge. Schema validity, the CRDs' rules and PodSecurity `restricted`
 * (non-root, no privilege escalation, capabilities dropped, seccomp, no privileged or host namespaces) are the
 * server's, in server-validation.ts. Each check counts how often it ran, so a report can say "12 containers
 * checked" rather than pass vacuously on an empty set.
 */
import type { Manifest } from './render';

export interface PolicyViolation {
  policy: string;
  kind: string;
  name: string;
  message: string;
}

export interface PolicyReport {
  /** policy name → how many objects it examined. */
  checked: Record<string, number>;
  violations: PolicyViolation[];
}

export interface PolicyOptions {
  /** Namespace of documents that name none (the release namespace). Default `eshop`. */
  defaultNamespace?: string;
  /**
   * True when the set holds both layers: then a scaler whose topic has no KafkaTopic is a violation.
   * On one layer alone the topic may live in the other layer, and the check is left to the combined run.
   */
  complete?: boolean;
}

type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The value if it is an object, else {} (manifests are untyped; absent paths read as empty). */
export const objectOf = (v: unknown): Json => (isObject(v) ? v : {});
/** The object elements of an array value, else []. */
export const arrayOf = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const obj = objectOf;
const arr = arrayOf;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const nameOf = (doc: Manifest): string => str(obj(doc['metadata'])['name']) ?? '?';
export const namespaceOf = (doc: Manifest, fallback = 'eshop'): string => str(obj(doc['metadata'])['namespace']) ?? fallback;
export const ofKind = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d['kind'] === kind);

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'];

/** The pod template of a workload (CronJob: through its job template). */
export function podTemplateOf(doc: Manifest): Json | undefined {
  if (!WORKLOAD_KINDS.includes(String(doc['kind']))) return undefined;
  const spec = obj(doc['spec']);
  const template = doc['kind'] === 'CronJob' ? obj(obj(obj(spec['jobTemplate'])['spec'])['template']) : obj(spec['template']);
  return template;
}

export interface ContainerRef {
  workload: Manifest;
  podSpec: Json;
  container: Json;
  init: boolean;
}

export function containersOf(docs: Manifest[]): ContainerRef[] {
  return docs.flatMap((workload) => {
    const template = podTemplateOf(workload);
    if (!template) return [];
    const podSpec = obj(template['spec']);
    return [
      ...arr(podSpec['initContainers']).map((container) => ({ workload, podSpec, container, init: true })),
      ...arr(podSpec['containers']).map((container) => ({ workload, podSpec, container, init: false })),
    ];
  });
}

/** Does a LabelSelector (matchLabels + matchExpressions) select these labels? An empty selector selects all. */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const sel = obj(selector);
  for (const [k, v] of Object.entries(obj(sel['matchLabels']))) if (labels[k] !== v) return false;
  for (const expr of arr(sel['matchExpressions'])) {
    const key = String(expr['key']);
    const values = Array.isArray(expr['values']) ? expr['values'].map(String) : [];
    const has = key in labels;
    switch (expr['operator']) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export const labelsOf = (meta: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(obj(meta)['labels'])).map(([k, v]) => [k, String(v)]));

/** A tag that is present and not `latest` (a digest also pins the image). */
export function imageProblem(image: string): string | undefined {
  if (image.includes('@sha256:')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= lastSlash) return `image "${image}" has no tag`;
  if (image.slice(colon + 1) === 'latest') return `image "${image}" uses the tag "latest"`;
  return undefined;
}

export const SECRET_ENV_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|KEY/i;

/** HPAs and ScaledObjects with the Deployment (kind/name) they scale. */
export function scalersOf(docs: Manifest[]): { scaler: Manifest; targetKind: string; targetName: string; max: number | undefined }[] {
  return docs.flatMap((doc) => {
    const spec = obj(doc['spec']);
    const ref = obj(spec['scaleTargetRef']);
    if (doc['kind'] === 'ScaledObject') {
      const max = spec['maxReplicaCount'];
      // KEDA's default ceiling is 100 when maxReplicaCount is omitted.
      return [{ scaler: doc, targetKind: str(ref['kind']) ?? 'Deployment', targetName: String(ref['name']), max: typeof max === 'number' ? max : 100 }];
    }
    if (doc['kind'] === 'HorizontalPodAutoscaler') {
      const max = spec['maxReplicas'];
      return [{ scaler: doc, targetKind: str(ref['kind']) ?? '?', targetName: String(ref['name']), max: typeof max === 'number' ? max : undefined }];
    }
    return [];
  });
}

/** Kafka topics a scaler reads lag from: KEDA kafka triggers' `topic`, or an HPA External metric's `topic` label. */
export function scalerTopics(scaler: Manifest): string[] {
  const spec = obj(scaler['spec']);
  if (scaler['kind'] === 'ScaledObject') {
    return arr(spec['triggers'])
      .filter((t) => t['type'] === 'kafka')
      .map((t) => str(obj(t['metadata'])['topic']))
      .filter((t): t is string => !!t);
  }
  return arr(spec['metrics'])
    .filter((m) => m['type'] === 'External')
    .map((m) => str(obj(obj(obj(obj(m['external'])['metric'])['selector'])['matchLabels'])['topic']))
    .filter((t): t is string => !!t);
}

/** Topic name → partitions, from KafkaTopic resources (spec.topicName overrides metadata.name). */
export function kafkaTopicPartitions(docs: Manifest[]): Map<string, number | undefined> {
  return new Map(
    ofKind(docs, 'KafkaTopic').map((t) => {
      const spec = obj(t['spec']);
      const partitions = spec['partitions'];
      return [str(spec['topicName']) ?? nameOf(t), typeof partitions === 'number' ? partitions : undefined];
    }),
  );
}

export function checkPolicies(docs: Manifest[], options: PolicyOptions = {}): PolicyReport {
  const defaultNs = options.defaultNamespace ?? 'eshop';
  const checked: Record<string, number> = {};
  const violations: PolicyViolation[] = [];
  const count = (policy: string): void => {
    checked[policy] = (checked[policy] ?? 0) + 1;
  };
  const violate = (policy: string, doc: Manifest, message: string): void => {
    violations.push({ policy, kind: String(doc['kind']), name: nameOf(doc), message });
  };

  for (const { workload, container, init } of containersOf(docs)) {
    const where = `${init ? 'initContainer' : 'container'} "${String(container['name'])}"`;

    count('resources');
    const resources = obj(container['resources']);
    for (const bound of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (obj(resources[bound])[resource] === undefined) violate('resources', workload, `${where} has no ${bound}.${resource}`);
      }
    }

    // PodSecurity `restricted` leaves the root filesystem writable; this policy does not.
    count('read-only-root-filesystem');
    if (obj(container['securityContext'])['readOnlyRootFilesystem'] !== true) {
      violate('read-only-root-filesystem', workload, `${where}: securityContext.readOnlyRootFilesystem is not true`);
    }

    if (workload['kind'] === 'Deployment' && !init) {
      count('probes');
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        if (!isObject(container[probe])) violate('probes', workload, `${where} has no ${probe}`);
      }
    }

    count('image-tag');
    const image = str(container['image']);
    const problem = image === undefined ? `${where} has no image` : imageProblem(image);
    if (problem) violate('image-tag', workload, `${where}: ${problem}`);

    count('no-literal-secret-env');
    for (const env of arr(container['env'])) {
      const name = String(env['name']);
      if (SECRET_ENV_NAME.test(name) && env['value'] !== undefined && env['value'] !== '') {
        violate('no-literal-secret-env', workload, `${where}: env ${name} has a literal value; use valueFrom.secretKeyRef`);
      }
    }
  }

  const pdbs = ofKind(docs, 'PodDisruptionBudget');
  for (const deployment of ofKind(docs, 'Deployment')) {
    count('pdb');
    const podLabels = labelsOf(obj(podTemplateOf(deployment))['metadata']);
    const ns = namespaceOf(deployment, defaultNs);
    const covered = pdbs.some((pdb) => namespaceOf(pdb, defaultNs) === ns && selectorMatches(obj(pdb['spec'])['selector'], podLabels));
    if (!covered) violate('pdb', deployment, `no PodDisruptionBudget in namespace ${ns} selects its pods (${JSON.stringify(podLabels)})`);
  }

  const scalers = scalersOf(docs);
  const byTarget = new Map<string, string[]>();
  for (const s of scalers) {
    const key = `${namespaceOf(s.scaler, defaultNs)}/${s.targetKind}/${s.targetName}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), `${String(s.scaler['kind'])}/${nameOf(s.scaler)}`]);
  }
  for (const s of scalers) {
    count('one-scaler-per-target');
    const key = `${namespaceOf(s.scaler, defaultNs)}/${s.targetKind}/${s.targetName}`;
    const owners = byTarget.get(key) ?? [];
    if (owners.length > 1 && owners[0] === `${String(s.scaler['kind'])}/${nameOf(s.scaler)}`) {
      violate('one-scaler-per-target', s.scaler, `${s.targetKind}/${s.targetName} is scaled by ${owners.join(' and ')}; keep one`);
    }
  }

  const partitions = kafkaTopicPartitions(docs);
  for (const s of scalers) {
    for (const topic of scalerTopics(s.scaler)) {
      if (!partitions.has(topic) && !options.complete) continue; // the topic may be in the other layer
      count('replicas-within-partitions');
      if (!partitions.has(topic)) {
        violate('replicas-within-partitions', s.scaler, `reads lag of topic "${topic}", which no KafkaTopic defines`);
        continue;
      }
      const p = partitions.get(topic);
      if (p === undefined) violate('replicas-within-partitions', s.scaler, `KafkaTopic "${topic}" does not set spec.partitions`);
      else if (s.max === undefined || s.max > p) {
        violate('replicas-within-partitions', s.scaler, `max replicas ${String(s.max)} > ${p} partitions of "${topic}": the extra consumers would idle`);
      }
    }
  }

  return { checked, violations };
}

export const formatViolation = (v: PolicyViolation): string => `[${v.policy}] ${v.kind}/${v.name}: ${v.message}`;

/** Keys that name a credential whose value must never be written down (existingSecret, passwordKey… are fine). */
const CREDENTIAL_KEY = /(password|passwd|token|apikey|secretkey)$/i;

/** Literal credentials in a values file or config object: key paths whose value is a non-empty string. */
export function literalCredentials(values: unknown, path = ''): string[] {
  if (Array.isArray(values)) return values.flatMap((v, i) => literalCredentials(v, `${path}[${i}]`));
  if (!isObject(values)) return [];
  return Object.entries(values).flatMap(([k, v]) => {
    const p = path ? `${path}.${k}` : k;
    if (CREDENTIAL_KEY.test(k) && typeof v === 'string' && v !== '') return [p];
    return literalCredentials(v, p);
  });
}

/** Literal credentials in TypeScript source: `password: 'x'` / `token = "x"` style assignments. */
export function literalCredentialsInSource(source: string): string[] {
  const re = /\b(\w*(?:password|passwd|token|apikey|secretkey))\s*[:=]\s*(['"`])([^'"`]+)\2/gi;
  return [...source.matchAll(re)].map((m) => `${m[1]}: ${m[2]}${m[3]}${m[2]}`);
}

/**
 * Secrets must be generated, not written down: the same chart rendered twice must give different values
 * for every credential-like key (usernames and hosts may repeat).
 */
export function secretsNotGenerated(first: Manifest[], second: Manifest[]): { checked: number; problems: string[] } {
  const problems: string[] = [];
  let checked = 0;
  const data = (s: Manifest): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(s['data']))) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
    for (const [k, v] of Object.entries(obj(s['stringData']))) out[k] = String(v);
    return out;
  };
  for (const secret of ofKind(first, 'Secret')) {
    const twin = ofKind(second, 'Secret').find((s) => nameOf(s) === nameOf(secret));
    for (const [key, value] of Object.entries(data(secret))) {
      if (!/password|passwd|token|secret|key/i.test(key)) continue;
      checked += 1;
      if (twin && data(twin)[key] === value) problems.push(`Secret/${nameOf(secret)} key ${key} is the same in two renders: a literal, not generated`);
    }
  }
  return { checked, problems };
}
