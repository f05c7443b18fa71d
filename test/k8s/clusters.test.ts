/**
 * The two cluster definitions the platform lands on: kind-config.yaml (skaffold dev) and eks-cluster.yaml
 * (eksctl), checked offline. eks-cluster.yaml is validated against eksctl's own JSON schema, which
 * `local/platform.sh deps` downloads (Go module github.com/weaveworks/eksctl) into .local/cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

const REPO = resolve(__dirname, '..', '..');
const EKSCTL_VERSION = 'v0.215.0';
const EKSCTL_SCHEMA = join(REPO, '.local', 'cache', `eksctl-${EKSCTL_VERSION}`, 'schema.json');
/** The Kubernetes minor the manifests are rendered for (KUBE_VERSION of test/k8s/support/render.ts). */
const KUBERNETES_MINOR = '1.36';

interface KindNode {
  role: 'control-plane' | 'worker';
  image?: string;
  labels?: Record<string, string>;
  extraPortMappings?: Array<{ containerPort: number; hostPort: number }>;
}

interface ManagedNodeGroup {
  name: string;
  availabilityZones?: string[];
  minSize: number;
  maxSize: number;
}

interface ClusterConfig {
  metadata: { name: string; region: string; version: string };
  availabilityZones: string[];
  iam: { withOIDC: boolean; podIdentityAssociations: Array<{ namespace: string; serviceAccountName: string; wellKnownPolicies?: Record<string, boolean> }> };
  addons: Array<{ name: string }>;
  managedNodeGroups: ManagedNodeGroup[];
}

const readYaml = <T>(file: string) => parse(readFileSync(join(REPO, file), 'utf8')) as T;

describe('kind-config.yaml', () => {
  const config = readYaml<{ kind: string; apiVersion: string; nodes: KindNode[] }>('kind-config.yaml');
  const controlPlanes = config.nodes.filter((n) => n.role === 'control-plane');
  const workers = config.nodes.filter((n) => n.role === 'worker');

  it('is a kind v1alpha4 Cluster with one control plane and at least two workers', () => {
    expect([config.kind, config.apiVersion]).toEqual(['Cluster', 'kind.x-k8s.io/v1alpha4']);
    expect(controlPlanes).toHaveLength(1);
    expect(workers.length).toBeGreaterThanOrEqual(2);
  });

  it(`runs Kubernetes ${KUBERNETES_MINOR} on every node, from one image pinned by digest`, () => {
    const images = new Set(config.nodes.map((n) => n.image));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(new RegExp(`^kindest/node:v${KUBERNETES_MINOR.replace('.', '\\.')}\\.\\d+@sha256:[0-9a-f]{64}$`));
  });

  it('puts the workers in different zones, so zone spreading has something to spread over', () => {
    const zones = workers.map((w) => w.labels?.['topology.kubernetes.io/zone']);
    expect(zones.every((z) => typeof z === 'string')).toBe(true);
    expect(new Set(zones).size).toBe(workers.length);
  });

  it('labels the control plane ingress-ready and maps host ports 80 and 443 to it (Traefik hostPorts)', () => {
    const [node] = controlPlanes;
    expect(node!.labels).toEqual({ 'ingress-ready': 'true' });
    expect(node!.extraPortMappings?.map((m) => [m.containerPort, m.hostPort])).toEqual([
      [80, 80],
      [443, 443],
    ]);
  });
});

describe('eks-cluster.yaml', () => {
  const cluster = readYaml<ClusterConfig>('eks-cluster.yaml');

  it(`is valid against eksctl ${EKSCTL_VERSION}'s ClusterConfig schema, which rejects unknown fields`, () => {
    if (!existsSync(EKSCTL_SCHEMA)) throw new Error(`${EKSCTL_SCHEMA} is missing: run local/platform.sh deps`);
    const ajv = new Ajv({ strict: false, allErrors: true }); // the schema carries x-intellij-* keywords
    const validate = ajv.compile(JSON.parse(readFileSync(EKSCTL_SCHEMA, 'utf8')) as object);
    expect(validate(cluster) ? [] : validate.errors).toEqual([]);

    const misspelt = { ...cluster, managedNodeGroups: [{ ...cluster.managedNodeGroups[0], desiredCapcity: 1 }] };
    expect(validate(misspelt)).toBe(false);
    expect(validate.errors?.map((e) => e.params)).toContainEqual({ additionalProperty: 'desiredCapcity' });
  });

  it(`asks for Kubernetes ${KUBERNETES_MINOR} in three availability zones of its region`, () => {
    expect(cluster.metadata.version).toBe(KUBERNETES_MINOR);
    expect(new Set(cluster.availabilityZones).size).toBe(3);
    for (const zone of cluster.availabilityZones) expect(zone.startsWith(cluster.metadata.region)).toBe(true);
  });

  it('has one data node group per zone (EBS volumes are zonal) and an apps group spanning all zones', () => {
    const data = cluster.managedNodeGroups.filter((g) => g.name.startsWith('data-'));
    expect(data.map((g) => g.availabilityZones).sort()).toEqual(cluster.availabilityZones.map((z) => [z]).sort());
    for (const group of data) expect(group.minSize).toBeGreaterThanOrEqual(1);
    const apps = cluster.managedNodeGroups.find((g) => g.name === 'apps')!;
    expect(apps.availabilityZones).toBeUndefined();
    expect(apps.minSize).toBeGreaterThanOrEqual(cluster.availabilityZones.length);
  });

  it('installs the EBS CSI driver, the pod identity agent and the core add-ons, with OIDC for IRSA', () => {
    expect(cluster.addons.map((a) => a.name).sort()).toEqual(['aws-ebs-csi-driver', 'coredns', 'eks-pod-identity-agent', 'kube-proxy', 'vpc-cni']);
    expect(cluster.iam.withOIDC).toBe(true);
  });

  it('gives the AWS Load Balancer Controller its IAM role through pod identity', () => {
    expect(cluster.iam.podIdentityAssociations).toContainEqual(
      expect.objectContaining({
        namespace: 'kube-system',
        serviceAccountName: 'aws-load-balancer-controller',
        wellKnownPolicies: { awsLoadBalancerController: true },
      }),
    );
  });
});
