/**
 * The platform installed, for real, on a real Kubernetes API server: the local control plane of local/cluster.sh
 * (kube-apiserver, kube-controller-manager and kube-scheduler v1.37 on etcd; kwok plays the nodes and the pods'
 * containers). What a user installs — the operators' CRDs, `helm upgrade --install` of charts/eshop-platform with
 * values-kind.yaml, the cdk8s app by server-side apply — then what a user would check: every object accepted and
 * defaulted by the server, Deployments Ready on the fake nodes, PodSecurity `restricted` admitting the pods, broken
 * resources refused with the CRDs' own messages, an upgrade to the EKS values and an uninstall that leave nothing
 * behind. The operators themselves do not run (their charts cannot be downloaded here): their CRs are stored and
 * validated, never reconciled.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, synthApp } from './support/render';
import { clusterScript, ensureControlPlane, helmRun, keyOf, kubectl, kubectlJson, kubectlRun, listObjects, namespacedResourceTypes, type KubeObject } from './support/local-cluster';

const NS = 'eshop';
const RELEASE = 'eshop-platform';
const CRD_DIR = path.join(ROOT, 'test/k8s/schemas/crds');

jest.setTimeout(10 * 60_000);

/** YAML as the API server reads it: 1.1, where Helm's `defaultMode: 0444` is octal. */
const yamlDocs = (text: string): KubeObject[] =>
  parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null && typeof d === 'object');

/** What Helm applied for the release (its stored manifest). */
const releaseManifest = (): KubeObject[] => {
  const r = helmRun(['get', 'manifest', RELEASE, '--namespace', NS]);
  if (r.status !== 0) throw new Error(`helm get manifest failed: ${r.stderr}`);
  return yamlDocs(r.stdout);
};

/** Kubernetes quantities ("0.5" = "500m", "1Gi" = "1024Mi") as numbers, to compare what the server normalized. */
function quantity(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(v);
  if (!m) return undefined;
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1);
}

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);

/**
 * Paths where the live object lacks or changed what was applied. The server adds (defaults) fields, which is fine;
 * a field it dropped (pruned by a CRD's structural schema) or changed is a difference.
 */
export function lostFields(applied: unknown, live: unknown, at = ''): string[] {
  if (isEmpty(applied)) return [];
  if (Array.isArray(applied)) {
    if (!Array.isArray(live)) return [`${at}: applied a list, server has ${JSON.stringify(live)}`];
    return applied.flatMap((item, i) => lostFields(item, live[i], `${at}[${i}]`));
  }
  if (typeof applied === 'object') {
    if (typeof live !== 'object' || live === null) return [`${at}: applied an object, server has ${JSON.stringify(live)}`];
    return Object.entries(applied as Record<string, unknown>).flatMap(([k, v]) => lostFields(v, (live as Record<string, unknown>)[k], `${at}.${k}`));
  }
  if (applied === live) return [];
  const a = quantity(applied);
  if (a !== undefined && a === quantity(live)) return [];
  return [`${at}: applied ${JSON.stringify(applied)}, server has ${JSON.stringify(live)}`];
}

/** The part of an applied manifest the server keeps as given (Secrets' stringData becomes data). */
const comparable = (doc: KubeObject): KubeObject => {
  const { stringData: _stringData, ...rest } = doc;
  return rest as KubeObject;
};

function liveObjects(docs: KubeObject[]): Map<string, KubeObject> {
  const kinds = [...new Set(docs.map((d) => `${d.kind.toLowerCase()}.${d.apiVersion.includes('/') ? d.apiVersion.split('/')[0] : ''}`.replace(/\.$/, '')))];
  return new Map(listObjects(kinds.join(','), NS).map((o) => [keyOf(o), o]));
}

const podsOf = (selector: Record<string, string>): KubeObject[] =>
  listObjects('pods', NS).filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));

/** A server-side dry run of one object: the server's answer, nothing stored. */
const dryRunApply = (doc: object) =>
  kubectlRun(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '--field-manager=eshop-test', '-f', '-'], JSON.stringify(doc));

beforeAll(() => {
  ensureControlPlane();
  // From a clean namespace, as a user's first install: whatever an earlier run left is removed first.
  clusterScript('undeploy');
  clusterScript('deploy', '--env', 'kind');
});

describe('the local control plane', () => {
  it('is Kubernetes v1.37 with kwok nodes labelled like kind-config.yaml and eks-cluster.yaml', () => {
    const version = JSON.parse(kubectl(['get', '--raw', '/version'])) as { gitVersion: string };
    expect(version.gitVersion).toMatch(/^v1\.37\./);
    // kwok's nodes (an experiment's local node agent may register one of its own beside them).
    const nodes = listObjects('nodes').filter((n) => n.metadata.labels['kwok.x-k8s.io/node'] === 'fake');
    const ready = nodes.filter((n) => n.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    expect(ready.map((n) => n.metadata.name).sort()).toEqual(nodes.map((n) => n.metadata.name).sort());
    const zones = (pool: string) => nodes.filter((n) => n.metadata.labels['eshop.io/pool'] === pool).map((n) => n.metadata.labels['topology.kubernetes.io/zone']).sort();
    expect(zones('data')).toEqual(['zone-a', 'zone-b', 'zone-c']);
    expect(zones('apps')).toEqual(['zone-a', 'zone-b', 'zone-c']);
    const controlPlane = nodes.find((n) => 'node-role.kubernetes.io/control-plane' in n.metadata.labels);
    expect(controlPlane?.metadata.labels['ingress-ready']).toBe('true');
    expect(controlPlane?.spec.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  });

  it('kwok renews every node’s Lease, so the node lifecycle controller keeps them Ready (no NotReady taints)', () => {
    const leases = new Map(listObjects('leases', 'kube-node-lease').map((l) => [l.metadata.name as string, l]));
    for (const node of listObjects('nodes').filter((n) => n.metadata.labels['kwok.x-k8s.io/node'] === 'fake')) {
      const renewed = leases.get(node.metadata.name)?.spec.renewTime as string | undefined;
      expect({ node: node.metadata.name, renewedSecondsAgo: renewed ? (Date.now() - Date.parse(renewed)) / 1000 < 40 : 'never' }).toEqual({ node: node.metadata.name, renewedSecondsAgo: true });
      expect({ node: node.metadata.name, taints: (node.spec.taints ?? []).filter((t: any) => t.key.startsWith('node.kubernetes.io/')) }).toEqual({ node: node.metadata.name, taints: [] });
    }
  });

  it('serves the operators’ CRDs, Established', () => {
    const files = ['keda/keda.sh_scaledobjects.yaml', 'strimzi/040-Crd-kafka.yaml', 'mysql-operator/deploy-crds.yaml', 'prometheus-operator/monitoring.coreos.com_servicemonitors.yaml', 'k6-operator/k6.io_testruns.yaml'];
    const names = files.flatMap((f) => yamlDocs(readFileSync(path.join(CRD_DIR, f), 'utf8')).filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata.name as string));
    const served = new Map(listObjects('crd').map((c) => [c.metadata.name as string, c]));
    for (const name of names) {
      expect(served.get(name)?.status.conditions.find((c: any) => c.type === 'Established')?.status).toBe('True');
    }
  });
});

describe('helm install of the platform and server-side apply of the app (kind)', () => {
  it('the release is deployed, and every object it and the cdk8s app applied is stored as applied, with the server’s defaults', () => {
    const release = JSON.parse(helmRun(['list', '--namespace', NS, '-o', 'json']).stdout) as { name: string; status: string }[];
    expect(release).toEqual([expect.objectContaining({ name: RELEASE, status: 'deployed' })]);

    const applied = [...releaseManifest(), ...(synthApp('kind') as KubeObject[])];
    const live = liveObjects(applied);
    const problems = applied.flatMap((doc) => {
      const object = live.get(keyOf(doc, NS));
      if (!object) return [`${keyOf(doc, NS)}: not on the server`];
      return lostFields(comparable(doc), object).map((p) => `${keyOf(doc, NS)}${p}`);
    });
    expect(problems).toEqual([]);
    expect(applied.length).toBeGreaterThan(40);

    // Defaults only the server sets: a Service's cluster IP, a Deployment's strategy, pod templates' scheduler.
    for (const o of live.values()) {
      expect(o.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      if (o.kind === 'Service') expect(o.spec.clusterIP).toMatch(/^10\.96\./);
      if (o.kind === 'Deployment') {
        expect(o.spec).toMatchObject({ progressDeadlineSeconds: 600, strategy: { type: expect.any(String) } });
        expect(o.spec.template.spec).toMatchObject({ schedulerName: 'default-scheduler', dnsPolicy: 'ClusterFirst' });
        for (const c of o.spec.template.spec.containers) expect(c).toMatchObject({ terminationMessagePolicy: 'File', imagePullPolicy: expect.any(String) });
      }
    }
  });

  it('the Deployments reach their desired Ready replicas on kwok nodes, scheduled by the real scheduler', () => {
    const deployments = listObjects('deployments', NS);
    // The app's four, and the platform's Jaeger (values-kind.yaml turns it on).
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['eshop-jaeger', 'gateway', 'order-api', 'order-consumer', 'product']);
    for (const d of deployments) {
      expect({ name: d.metadata.name, ready: d.status.readyReplicas, available: d.status.conditions.find((c: any) => c.type === 'Available')?.status }).toEqual({
        name: d.metadata.name, ready: d.spec.replicas, available: 'True',
      });
      const pods = podsOf(d.spec.selector.matchLabels).filter((p) => !p.metadata.deletionTimestamp);
      expect(pods).toHaveLength(d.spec.replicas);
      for (const p of pods) {
        expect(p.status.phase).toBe('Running');
        expect(p.spec.nodeName).toMatch(/^eshop-(worker|apps)-[abc]$/); // never the tainted control plane
        expect(p.status.conditions.find((c: any) => c.type === 'PodScheduled')?.status).toBe('True');
        // The migration init container (product, order-api) is reported completed, as kwok's pod-ready stage does.
        for (const s of p.status.initContainerStatuses ?? []) expect(s.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      }
    }
  });

  it('the database bootstrap Job completes, its pod Succeeded (kwok’s pod-complete stage)', () => {
    const job = kubectlJson(['-n', NS, 'get', 'job', 'eshop-db-bootstrap-1']);
    expect(job.status).toMatchObject({ succeeded: 1 });
    expect(job.status.conditions.find((c: any) => c.type === 'Complete')?.status).toBe('True');
    expect(podsOf({ 'job-name': 'eshop-db-bootstrap-1' }).map((p) => p.status.phase)).toEqual(['Succeeded']);
  });

  it('PodSecurity `restricted` admits every pod of the platform and the app, and refuses a privileged one', () => {
    // A server-side dry run of labelling the namespace: the server answers with a warning per pod that would break
    // the level. None may.
    const label = kubectlRun(['label', 'namespace', NS, '--dry-run=server', '--overwrite', 'pod-security.kubernetes.io/enforce=restricted']);
    expect(label.status).toBe(0);
    expect(label.stderr).not.toMatch(/violate|Warning/);
    expect(listObjects('pods', NS).length).toBeGreaterThanOrEqual(5);

    kubectl(['create', 'namespace', 'eshop-psa-check', '--dry-run=client', '-o', 'yaml']);
    kubectlRun(['delete', 'namespace', 'eshop-psa-check', '--ignore-not-found', '--wait=false']);
    kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'eshop-psa-check', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }));
    try {
      const gateway = kubectlJson(['-n', NS, 'get', 'deployment', 'gateway']);
      const pod = (spec: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'psa', namespace: 'eshop-psa-check' }, spec });
      expect(dryRunApply(pod({ ...gateway.spec.template.spec, serviceAccountName: 'default' })).status).toBe(0);
      const privileged = { ...gateway.spec.template.spec, serviceAccountName: 'default', containers: [{ ...gateway.spec.template.spec.containers[0], securityContext: { privileged: true } }] };
      const refused = dryRunApply(pod(privileged));
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest": privileged/);
    } finally {
      kubectlRun(['delete', 'namespace', 'eshop-psa-check', '--wait=false']);
    }
  });

  it('every Deployment has a PodDisruptionBudget, a NetworkPolicy and a Service selecting it; every app Deployment a ServiceMonitor', () => {
    const deployments = listObjects('deployments', NS);
    const selects = (selector: any, labels: Record<string, string>) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const pdbs = listObjects('poddisruptionbudgets', NS);
    const policies = listObjects('networkpolicies', NS);
    const monitors = listObjects('servicemonitors.monitoring.coreos.com', NS);
    const services = listObjects('services', NS);
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels as Record<string, string>;
      const name = d.metadata.name as string;
      expect({ name, pdb: pdbs.filter((p) => selects(p.spec.selector, labels)).length > 0 }).toEqual({ name, pdb: true });
      expect({ name, policy: policies.filter((p) => selects(p.spec.podSelector, labels) && (p.spec.ingress ?? []).length > 0).length > 0 }).toEqual({ name, policy: true });
      const service = services.find((s) => Object.entries(s.spec.selector ?? {}).every(([k, v]) => labels[k] === v));
      expect({ name, service: service?.metadata.name }).toEqual({ name, service: expect.any(String) });
      if (labels['app.kubernetes.io/part-of'] !== 'eshop') continue; // Jaeger exports no metrics of its own here
      expect({ name, monitor: monitors.some((m) => selects(m.spec.selector, service!.metadata.labels ?? {})) }).toEqual({ name, monitor: true });
    }
    // The default-deny policy exists: a pod no other policy admits gets no traffic.
    expect(policies.find((p) => isEmpty(p.spec.ingress) && p.spec.policyTypes?.includes('Ingress'))).toBeDefined();
  });

  it('the KEDA ScaledObject scales a Deployment that exists, through a container that exists, on a Kafka topic of the platform', () => {
    const [scaled] = listObjects('scaledobjects.keda.sh', NS);
    const target = kubectlJson(['-n', NS, 'get', 'deployment', scaled!.spec.scaleTargetRef.name]);
    const containers = (target.spec.template.spec.containers as { name: string }[]).map((c) => c.name);
    expect(containers).toContain(scaled!.spec.scaleTargetRef.envSourceContainerName ?? containers[0]);
    const topics = listObjects('kafkatopics.kafka.strimzi.io', NS).map((t) => t.spec.topicName ?? t.metadata.name);
    for (const trigger of scaled!.spec.triggers) expect(topics).toContain(trigger.metadata.topic);
    expect(scaled!.spec.maxReplicaCount).toBeLessThanOrEqual(kubectlJson(['-n', NS, 'get', 'kafkatopic', scaled!.spec.triggers[0].metadata.topic]).spec.partitions);
  });
});

describe('the server refuses what the schemas on disk cannot judge', () => {
  it('a Kafka whose rack awareness has no topologyKey: the Strimzi CRD’s CEL rule and message', () => {
    const kafka = kubectlJson(['-n', NS, 'get', 'kafka', 'eshop']);
    const broken = { apiVersion: kafka.apiVersion, kind: 'Kafka', metadata: { name: 'eshop', namespace: NS }, spec: { ...kafka.spec, kafka: { ...kafka.spec.kafka, rack: { topologyKey: '' } } } };
    const r = dryRunApply(broken);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.kafka\.rack: Invalid value: .*topologyKey property is required/);
  });

  it('a ScaledObject with more minimum than maximum replicas: the KEDA CRD’s CEL rule and message', () => {
    const [scaled] = listObjects('scaledobjects.keda.sh', NS);
    const broken = { apiVersion: scaled!.apiVersion, kind: 'ScaledObject', metadata: { name: 'order-consumer', namespace: NS }, spec: { ...scaled!.spec, minReplicaCount: 5, maxReplicaCount: 4 } };
    const r = dryRunApply(broken);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/minReplicaCount must be less than or equal to maxReplicaCount/);
  });

  it('a ScaledObject field the CRD does not know: refused under strict field validation, not silently dropped', () => {
    const [scaled] = listObjects('scaledobjects.keda.sh', NS);
    const r = dryRunApply({ apiVersion: scaled!.apiVersion, kind: 'ScaledObject', metadata: { name: 'order-consumer', namespace: NS }, spec: { ...scaled!.spec, pollingIntervall: 5 } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\.spec\.pollingIntervall: field not declared in schema/);
  });

  it('an immutable field: a Job’s pod template cannot change in place', () => {
    const job = kubectlJson(['-n', NS, 'get', 'job', 'eshop-db-bootstrap-1']);
    const changed = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: job.metadata.name, namespace: NS }, spec: { template: { ...job.spec.template, spec: { ...job.spec.template.spec, activeDeadlineSeconds: 7 } } } };
    const r = dryRunApply(changed);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/field is immutable/);
  });

  it('a values combination the chart’s schema lets through is refused by the server; helm marks the revision failed', () => {
    // Each value is a valid quantity for values.schema.json; together (request above limit) the Job is invalid.
    const r = helmRun([
      'upgrade', RELEASE, path.join(ROOT, '.local/cluster/chart/eshop-platform'), '--namespace', NS, '--reuse-values',
      '--set', 'mysql.bootstrap.resources.requests.memory=256Mi', '--set', 'mysql.bootstrap.resources.limits.memory=128Mi', '--timeout', '60s',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/resources\.requests: Invalid value: "256Mi": must be less than or equal to memory limit/);
    const history = JSON.parse(helmRun(['history', RELEASE, '--namespace', NS, '-o', 'json']).stdout) as { revision: number; status: string }[];
    expect(history.map((h) => [h.revision, h.status])).toEqual([[1, 'deployed'], [2, 'failed']]);
  });
});

describe('upgrade and uninstall', () => {
  it('helm upgrade to the EKS values: a new revision and bootstrap Job, the old Job gone; the EKS app spreads its replicas over three zones', () => {
    clusterScript('deploy', '--env', 'eks');
    const history = JSON.parse(helmRun(['history', RELEASE, '--namespace', NS, '-o', 'json']).stdout) as { revision: number; status: string }[];
    const deployed = history.filter((h) => h.status === 'deployed');
    expect(deployed).toHaveLength(1);
    const revision = deployed[0]!.revision;
    expect(revision).toBeGreaterThan(1);
    const jobs = listObjects('jobs', NS).map((j) => j.metadata.name);
    expect(jobs).toEqual([`eshop-db-bootstrap-${revision}`]);
    expect(kubectlJson(['-n', NS, 'get', 'kafkanodepools']).items.map((p: KubeObject) => p.metadata.name).sort()).toEqual(['broker', 'controller']);

    // The EKS app: more replicas, spread with a hard zone constraint, which only the real scheduler enforces.
    for (const d of listObjects('deployments', NS)) {
      expect(d.status.readyReplicas).toBe(d.spec.replicas);
      const zones = new Set(podsOf(d.spec.selector.matchLabels).filter((p) => !p.metadata.deletionTimestamp).map((p) => kubectlJson(['get', 'node', p.spec.nodeName]).metadata.labels['topology.kubernetes.io/zone']));
      expect({ name: d.metadata.name, zones: zones.size }).toEqual({ name: d.metadata.name, zones: Math.min(3, d.spec.replicas) });
    }
  });

  it('undeploy (app deleted, helm uninstall) leaves only the CRDs and the Secrets the chart marks keep', () => {
    clusterScript('undeploy');
    expect(JSON.parse(helmRun(['list', '--namespace', NS, '-o', 'json']).stdout)).toEqual([]);
    const leftovers = namespacedResourceTypes()
      .filter((t) => !['events', 'events.events.k8s.io'].includes(t))
      .flatMap((t) => listObjects(t, NS))
      .filter((o) => !(o.kind === 'ServiceAccount' && o.metadata.name === 'default') && !(o.kind === 'ConfigMap' && o.metadata.name === 'kube-root-ca.crt'));
    const kept = leftovers.filter((o) => o.metadata.annotations?.['helm.sh/resource-policy'] === 'keep');
    expect(leftovers.filter((o) => !kept.includes(o)).map((o) => keyOf(o))).toEqual([]);
    expect(kept.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Secret/eshop-auth-local', 'Secret/eshop-gateway-identity', 'Secret/eshop-order-db', 'Secret/eshop-product-db', 'Secret/eshop-mysql-root'].sort());
    expect(listObjects('crd').length).toBeGreaterThanOrEqual(10);
  });
});

afterAll(() => {
  // Leave what `local/platform.sh cluster up` leaves: the platform deployed with the kind values.
  clusterScript('deploy', '--env', 'kind');
});
