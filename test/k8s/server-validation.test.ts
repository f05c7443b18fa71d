import { checkPolicies, formatViolation } from './support/policies';
import { KUBERNETES_YAML, loadYamlDocs, type Manifest } from './support/render';
import { kubectlRun } from './support/local-cluster';
import { formatServerError, validateOnServer, VALIDATION_NAMESPACE } from './support/server-validation';
import { fixtureDocs } from './fixtures/factories';

/** The server's judgement is only worth something if it refuses: each bad document below must fail, for the right reason. */
const one = (file: string, kind: string): any => {
  const doc = fixtureDocs(file).find((d) => d['kind'] === kind);
  if (!doc) throw new Error(`no ${kind} in fixtures/${file}`);
  return doc;
};
const refusals = (...docs: Manifest[]): string[] => validateOnServer(docs).map(formatServerError);

describe('validation on the API server (strict server-side dry run)', () => {
  it('accepts the well-formed fixtures (Deployment, ScaledObject, Kafka, KafkaTopic) in one request, and stores nothing', () => {
    const docs = [...fixtureDocs('good-deployment.yaml'), ...fixtureDocs('good-scaledobject.yaml'), ...fixtureDocs('good-kafka.yaml')];
    expect(docs.map((d) => d['kind'])).toEqual(expect.arrayContaining(['Deployment', 'ScaledObject', 'Kafka', 'KafkaTopic']));
    expect(refusals(...docs)).toEqual([]);
    for (const kind of ['deployment', 'scaledobject', 'kafka']) {
      expect(kubectlRun(['-n', VALIDATION_NAMESPACE, 'get', kind, '-o', 'name']).stdout).toBe('');
    }
  });

  it('refuses an unknown field in a container (not pruned silently), naming the object and the field', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    doc.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(refusals(doc)).toEqual([
      `Deployment/order-consumer: failed to create typed patch object (${VALIDATION_NAMESPACE}/order-consumer; apps/v1, Kind=Deployment): ` +
        '.spec.template.spec.containers[name="order-consumer"].imagePullPolicyy: field not declared in schema',
    ]);
  });

  it('refuses an unknown field in the metadata of a custom resource', () => {
    const doc = one('good-scaledobject.yaml', 'ScaledObject');
    doc.metadata.label = { a: 'b' };
    expect(refusals(doc)).toEqual([expect.stringMatching(/^ScaledObject\/order-consumer: .*\.metadata\.label: field not declared in schema$/)]);
  });

  it('refuses wrong types: replicas as a string, a label value as a number', () => {
    const replicas = one('good-deployment.yaml', 'Deployment');
    replicas.spec.replicas = '2';
    expect(refusals(replicas)).toEqual([expect.stringMatching(/^Deployment\/order-consumer: .*\.spec\.replicas: expected numeric \(int or float\), got string$/)]);
    const label = one('good-deployment.yaml', 'Deployment');
    label.metadata.labels.replicas = 3;
    expect(refusals(label)).toEqual([expect.stringMatching(/^Deployment\/order-consumer: .*ObjectMeta\.metadata\.labels of type string$/)]);
  });

  it('refuses a missing required field: a container without a name, a Kafka without listeners', () => {
    const deployment = one('good-deployment.yaml', 'Deployment');
    delete deployment.spec.template.spec.containers[0].name;
    const kafka = one('good-kafka.yaml', 'Kafka');
    delete kafka.spec.kafka.listeners;
    expect(refusals(deployment, kafka)).toEqual([
      'Deployment/order-consumer: The Deployment "order-consumer" is invalid: spec.template.spec.containers[0].name: Required value',
      expect.stringMatching(/^Kafka\/eshop: The Kafka "eshop" is invalid: .*spec\.kafka\.listeners: Required value/),
    ]);
  });

  it('refuses an unknown field inside a CRD spec, and a value outside the CRD’s enum', () => {
    const unknown = one('good-kafka.yaml', 'Kafka');
    unknown.spec.kafka.brokers = 3;
    expect(refusals(unknown)).toEqual([expect.stringMatching(/^Kafka\/eshop: .*\.spec\.kafka\.brokers: field not declared in schema$/)]);
    const outside = one('good-kafka.yaml', 'Kafka');
    outside.spec.kafka.listeners[0].type = 'clusterip-ish';
    expect(refusals(outside)).toEqual([expect.stringMatching(/^Kafka\/eshop: .*spec\.kafka\.listeners\[0\]\.type: Unsupported value: "clusterip-ish"/)]);
  });

  it('refuses a KEDA trigger whose metadata value is not a string', () => {
    const doc = one('good-scaledobject.yaml', 'ScaledObject');
    doc.spec.triggers[0].metadata.lagThreshold = 100;
    expect(refusals(doc)).toEqual([expect.stringMatching(/^ScaledObject\/order-consumer: .*\.spec\.triggers\[0\]\.metadata\.lagThreshold: expected string/)]);
  });

  it('accepts int-or-string and quantity fields in either form', () => {
    const doc = one('good-deployment.yaml', 'Deployment');
    doc.spec.strategy.rollingUpdate.maxUnavailable = 0;
    doc.spec.template.spec.containers[0].resources.limits.cpu = 1;
    doc.spec.template.spec.containers[0].readinessProbe.httpGet.port = 8083;
    expect(refusals(doc)).toEqual([]);
  });

  it('refuses an unknown kind, an unknown version of a known kind, and the legacy Strimzi v1beta2', () => {
    expect(
      refusals(
        { apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'x' } },
        { apiVersion: 'keda.sh/v1beta1', kind: 'ScaledObject', metadata: { name: 'x' } },
        { apiVersion: 'kafka.strimzi.io/v1beta2', kind: 'KafkaTopic', metadata: { name: 'x' } },
      ),
    ).toEqual([
      expect.stringMatching(/^Deploymnt\/x: .*no matches for kind "Deploymnt" in version "apps\/v1"/),
      expect.stringMatching(/^ScaledObject\/x: .*no matches for kind "ScaledObject" in version "keda.sh\/v1beta1"/),
      expect.stringMatching(/^KafkaTopic\/x: .*no matches for kind "KafkaTopic" in version "kafka.strimzi.io\/v1beta2"/),
    ]);
  });

  it('refuses a document without a name, and Secret data that is not base64', () => {
    expect(refusals({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toEqual(['ConfigMap/?: error: resource name may not be empty']);
    expect(refusals({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'not base64!' } })).toEqual([
      expect.stringMatching(/^Secret\/s: .*illegal base64 data at input byte 3$/),
    ]);
  });

  it("applies the CRDs' Go regex patterns (PrometheusRule's partial_response_strategy ^(?i)(abort|warn)?$)", () => {
    const rule = (name: string, strategy: string) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name, namespace: 'eshop' },
      spec: { groups: [{ name: 'g', partial_response_strategy: strategy, rules: [{ alert: 'A', expr: 'up == 0' }] }] },
    });
    expect(refusals(rule('warn', 'WARN'), rule('ignore', 'ignore'))).toEqual([expect.stringMatching(/^PrometheusRule\/ignore: .*partial_response_strategy in body should match/)]);
  });

  it('names each refused document of a request, whatever the good ones around it', () => {
    const broken = one('good-deployment.yaml', 'Deployment');
    broken.spec.replicas = -1;
    const docs = [...fixtureDocs('good-kafka.yaml'), broken, ...fixtureDocs('good-scaledobject.yaml'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 0, targetPort: 8080 }] } }];
    expect(refusals(...docs)).toEqual([
      expect.stringMatching(/^Deployment\/order-consumer: .*spec\.replicas: Invalid value: -1: must be greater than or equal to 0$/),
      expect.stringMatching(/^Service\/svc: .*spec\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive$/),
    ]);
  });

  it('reads Helm output as the server does, YAML 1.1: defaultMode 0777 is octal (511), not 777', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: { name: mode }\nspec:\n  containers: [{ name: c, image: "x:1" }]\n  volumes: [{ name: v, configMap: { name: c, defaultMode: 0777 } }]\n';
    const [asServer] = loadYamlDocs(text, 'test', KUBERNETES_YAML);
    const [as12] = loadYamlDocs(text, 'test');
    expect((asServer as any).spec.volumes[0].configMap.defaultMode).toBe(0o777);
    expect(refusals(as12!)).toEqual([expect.stringMatching(/defaultMode: Invalid value: 777: must be a number between 0 and 0777 \(octal\)/)]);
  });
});

describe('PodSecurity `restricted` on the pod templates', () => {
  const deployment = () => one('good-deployment.yaml', 'Deployment');
  const job = (spec: object): Manifest => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template: { spec: { restartPolicy: 'Never', ...spec } } } });

  it('refuses a privileged container and host namespaces, through the workload that would create the pod', () => {
    const privileged = deployment();
    Object.assign(privileged.spec.template.spec.containers[0].securityContext, { privileged: true, allowPrivilegeEscalation: true });
    const host = job({ hostNetwork: true, ...structuredClone(deployment().spec.template.spec) });
    expect(refusals(privileged, host)).toEqual([
      expect.stringMatching(/^Deployment\/order-consumer: pod template: .*violates PodSecurity "restricted:latest": .*privileged \(container "order-consumer" must not set securityContext\.privileged=true\)/),
      expect.stringMatching(/^Job\/migrate: pod template: .*violates PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\)/),
    ]);
  });

  it('refuses root and a missing seccomp profile in a CronJob’s job template', () => {
    const spec = structuredClone(deployment().spec.template.spec);
    spec.securityContext = { runAsUser: 0 };
    delete spec.containers[0].securityContext.runAsNonRoot;
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: 'OnFailure' } } } } } };
    expect(refusals(cron)).toEqual([expect.stringMatching(/^CronJob\/nightly: pod template: .*runAsNonRoot != true.*runAsUser=0.*seccompProfile/)]);
  });

  it('leaves a writable root filesystem to the read-only-root-filesystem policy', () => {
    const writable = deployment();
    writable.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
    expect(refusals(writable)).toEqual([]);
    expect(checkPolicies([writable]).violations.map(formatViolation)).toContain(
      '[read-only-root-filesystem] Deployment/order-consumer: container "order-consumer": securityContext.readOnlyRootFilesystem is not true',
    );
  });

  it('reports a workload the server refuses once, not again for its pod', () => {
    const broken = deployment();
    broken.spec.template.spec.containers[0].securityContext.privileged = true; // invalid with allowPrivilegeEscalation false
    expect(refusals(broken)).toEqual([expect.stringMatching(/^Deployment\/order-consumer: The Deployment "order-consumer" is invalid: .*cannot set `allowPrivilegeEscalation` to false and `privileged` to true$/)]);
  });
});
