import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { formatError, sharedValidator, type Manifest } from './support/schema-validator';

/** The validator is only worth something if it rejects: each bad fixture below must fail, for the right reason. */
const fixture = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(path.join(__dirname, 'fixtures', file), 'utf8')).map((d) => d.toJS() as Manifest);
const one = (file: string, kind: string): Manifest => {
  const doc = fixture(file).find((d) => d['kind'] === kind);
  if (!doc) throw new Error(`no ${kind} in fixtures/${file}`);
  return structuredClone(doc);
};
const errorsOf = (doc: unknown): string[] => sharedValidator().validateManifest(doc).map(formatError);
const at = (doc: Manifest, pointer: string): Record<string, unknown> => {
  let node: unknown = doc;
  for (const part of pointer.split('/').filter(Boolean)) node = (node as Record<string, unknown>)[part];
  return node as Record<string, unknown>;
};

describe('strict schema validator', () => {
  it.each([
    ['good-deployment.yaml', 'Deployment'],
    ['good-scaledobject.yaml', 'ScaledObject'],
    ['good-kafka.yaml', 'Kafka'],
    ['good-kafka.yaml', 'KafkaTopic'],
  ])('accepts the well-formed %s %s', (file, kind) => {
    expect(errorsOf(one(file, kind))).toEqual([]);
  });

  it('rejects an unknown field in a container, naming its JSON pointer', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    at(doc, 'spec/template/spec/containers/0')['imagePullPolicyy'] = 'Always';
    expect(errorsOf(doc)).toEqual([
      'Deployment/order-consumer (ns eshop) /spec/template/spec/containers/0/imagePullPolicyy: unknown field "imagePullPolicyy"',
    ]);
  });

  it('rejects an unknown field in metadata (validated as ObjectMeta, also for custom resources)', () => {
    const doc = one('good-scaledobject.yaml', 'ScaledObject');
    at(doc, 'metadata')['label'] = { a: 'b' };
    expect(errorsOf(doc)).toEqual(['ScaledObject/order-consumer (ns eshop) /metadata/label: unknown field "label"']);
  });

  it('rejects a wrong type (replicas as a string)', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    at(doc, 'spec')['replicas'] = '2';
    expect(errorsOf(doc)).toEqual(['Deployment/order-consumer (ns eshop) /spec/replicas: must be integer']);
  });

  it('rejects a non-string label value', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    at(doc, 'metadata/labels')['replicas'] = 3;
    expect(errorsOf(doc)).toEqual(['Deployment/order-consumer (ns eshop) /metadata/labels/replicas: must be string']);
  });

  it('rejects a missing required field (a container without a name)', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    delete at(doc, 'spec/template/spec/containers/0')['name'];
    expect(errorsOf(doc)).toEqual(['Deployment/order-consumer (ns eshop) /spec/template/spec/containers/0/name: missing required field "name"']);
  });

  it('rejects a missing required field in a CRD (a Kafka without listeners)', () => {
    const doc = one('good-kafka.yaml', 'Kafka');
    delete at(doc, 'spec/kafka')['listeners'];
    expect(errorsOf(doc)).toEqual(['Kafka/eshop (ns eshop) /spec/kafka/listeners: missing required field "listeners"']);
  });

  it('rejects an unknown field inside a CRD spec and a value outside an enum', () => {
    const doc = one('good-kafka.yaml', 'Kafka');
    at(doc, 'spec/kafka/listeners/0')['type'] = 'clusterip-ish';
    at(doc, 'spec/kafka')['brokers'] = 3;
    const errors = errorsOf(doc);
    expect(errors).toContain('Kafka/eshop (ns eshop) /spec/kafka/brokers: unknown field "brokers"');
    expect(errors.some((e) => e.startsWith('Kafka/eshop (ns eshop) /spec/kafka/listeners/0/type: must be one of'))).toBe(true);
  });

  it('rejects a KEDA trigger whose metadata value is not a string', () => {
    const doc = one('good-scaledobject.yaml', 'ScaledObject');
    at(doc, 'spec/triggers/0/metadata')['lagThreshold'] = 100;
    expect(errorsOf(doc)).toEqual(['ScaledObject/order-consumer (ns eshop) /spec/triggers/0/metadata/lagThreshold: must be string']);
  });

  it('accepts int-or-string and quantity fields in either form', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    at(doc, 'spec/strategy/rollingUpdate')['maxUnavailable'] = 0;
    at(doc, 'spec/template/spec/containers/0/resources/limits')['cpu'] = 1;
    at(doc, 'spec/template/spec/containers/0/readinessProbe/httpGet')['port'] = 8083;
    expect(errorsOf(doc)).toEqual([]);
  });

  it('rejects an unknown kind, an unknown version of a known kind, and a legacy-only Strimzi version', () => {
    expect(errorsOf({ apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'x' } })).toEqual([
      expect.stringContaining('unknown apiVersion/kind apps/v1 Deploymnt'),
    ]);
    expect(errorsOf({ apiVersion: 'keda.sh/v1beta1', kind: 'ScaledObject', metadata: { name: 'x' } })).toEqual([
      expect.stringContaining('unknown apiVersion/kind keda.sh/v1beta1 ScaledObject'),
    ]);
    expect(errorsOf({ apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaTopic', metadata: { name: 'x' } })).toEqual([
      expect.stringContaining('unknown apiVersion/kind kafka.strimzi.io/v1beta2 KafkaTopic'),
    ]);
  });

  it('rejects a document without a name', () => {
    expect(errorsOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toEqual(['ConfigMap/? /metadata/name: metadata.name is required']);
  });

  it('rejects Secret data that is not base64', () => {
    expect(errorsOf({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'not base64!' } })).toEqual([
      'Secret/s /data/password: must match format "byte"',
    ]);
  });

  it("reads Go regex patterns with an inline flag group (PrometheusRule's partial_response_strategy ^(?i)(abort|warn)?$)", () => {
    const rule = (strategy: string) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'r', namespace: 'eshop' },
      spec: { groups: [{ name: 'g', partial_response_strategy: strategy, rules: [{ alert: 'A', expr: 'up == 0' }] }] },
    });
    expect(errorsOf(rule('WARN'))).toEqual([]);
    expect(errorsOf(rule('ignore'))).toHaveLength(1);
  });

  it('knows every built-in kind the platform uses and every served CRD version', () => {
    expect(sharedValidator().knownKinds).toEqual(
      expect.arrayContaining([
        'apps/v1/Deployment', 'apps/v1/StatefulSet', 'batch/v1/Job', 'batch/v1/CronJob', 'v1/Service', 'v1/Secret', 'v1/ConfigMap',
        'v1/ServiceAccount', 'policy/v1/PodDisruptionBudget', 'autoscaling/v2/HorizontalPodAutoscaler',
        'networking.k8s.io/v1/NetworkPolicy', 'networking.k8s.io/v1/Ingress', 'rbac.authorization.k8s.io/v1/Role',
        'kafka.strimzi.io/v1/Kafka', 'kafka.strimzi.io/v1/KafkaNodePool', 'kafka.strimzi.io/v1/KafkaTopic', 'kafka.strimzi.io/v1/KafkaUser',
        'keda.sh/v1alpha1/ScaledObject', 'mysql.oracle.com/v2/InnoDBCluster', 'monitoring.coreos.com/v1/ServiceMonitor',
        'monitoring.coreos.com/v1/PrometheusRule', 'k6.io/v1alpha1/TestRun',
      ]),
    );
  });
});
