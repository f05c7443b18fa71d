import { checkAutoscalingAgreement, checkCrossLayer, mergeValues } from './support/cross-layer';
import { checkPolicies, formatViolation, imageProblem, literalCredentials, literalCredentialsInSource, secretsNotGenerated } from './support/policies';
import type { Manifest } from './support/render';
import { formatServerError, validateOnServer } from './support/server-validation';
import { appDocs, find, platformDocs } from './fixtures/factories';

/**
 * The policy and cross-layer checks must find real problems; each case breaks one thing in a good fixture. Where
 * the API server judges a part of the breakage (PodSecurity, the KEDA CRD), the case shows it refusing that part.
 */
const violations = (docs = [...platformDocs(), ...appDocs()]): string[] => checkPolicies(docs, { complete: true }).violations.map(formatViolation);
const refusals = (docs: Manifest[]): string[] => validateOnServer(docs).map(formatServerError);

describe('policy checks', () => {
  it('pass on the good fixtures, which the API server also accepts', () => {
    expect(refusals([...platformDocs(), ...appDocs()])).toEqual([]);
    const report = checkPolicies([...platformDocs(), ...appDocs()], { complete: true });
    expect(report.violations).toEqual([]);
    expect(report.checked).toMatchObject({ resources: 1, 'read-only-root-filesystem': 1, probes: 1, pdb: 1, 'replicas-within-partitions': 1 });
  });

  it('flag a container without limits, probes or a read-only root filesystem; PodSecurity refuses the rest of the weakened securityContext', () => {
    const app = appDocs();
    const c = find(app, 'Deployment').spec.template.spec.containers[0];
    delete c.resources.limits;
    delete c.livenessProbe;
    c.securityContext = { runAsNonRoot: true, capabilities: { drop: ['NET_RAW'] } };
    expect(violations([...platformDocs(), ...app])).toEqual([
      '[resources] Deployment/order-consumer: container "order-consumer" has no limits.cpu',
      '[resources] Deployment/order-consumer: container "order-consumer" has no limits.memory',
      '[read-only-root-filesystem] Deployment/order-consumer: container "order-consumer": securityContext.readOnlyRootFilesystem is not true',
      '[probes] Deployment/order-consumer: container "order-consumer" has no livenessProbe',
    ]);
    expect(refusals(app)).toEqual([
      'Deployment/order-consumer: pod template: pods "psa-deployment-order-consumer" is forbidden: violates PodSecurity "restricted:latest": ' +
        'allowPrivilegeEscalation != false (container "order-consumer" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "order-consumer" must set securityContext.capabilities.drop=["ALL"])',
    ]);
  });

  it('flag a Deployment no PodDisruptionBudget selects (a PDB in another namespace does not count)', () => {
    const app = appDocs();
    find(app, 'PodDisruptionBudget').metadata.namespace = 'other';
    expect(violations([...platformDocs(), ...app])).toEqual([expect.stringMatching(/^\[pdb\] Deployment\/order-consumer: no PodDisruptionBudget in namespace eshop/)]);
  });

  it('flag more consumer replicas than partitions, and a topic no KafkaTopic defines', () => {
    const app = appDocs();
    find(app, 'ScaledObject').spec.maxReplicaCount = 13;
    expect(violations([...platformDocs(), ...app])).toEqual([
      '[replicas-within-partitions] ScaledObject/order-consumer: max replicas 13 > 12 partitions of "order-events": the extra consumers would idle',
    ]);
    find(app, 'ScaledObject').spec.triggers[0].metadata.topic = 'orders';
    expect(violations([...platformDocs(), ...app])).toEqual([
      '[replicas-within-partitions] ScaledObject/order-consumer: reads lag of topic "orders", which no KafkaTopic defines',
    ]);
  });

  it('flag a ScaledObject and an HPA on the same Deployment; the KEDA CRD refuses non-string trigger metadata', () => {
    const app = appDocs();
    find(app, 'ScaledObject').spec.triggers[0].metadata.lagThreshold = 100;
    app.push({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'order-consumer-hpa', namespace: 'eshop' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'order-consumer' }, minReplicas: 1, maxReplicas: 4 },
    });
    expect(violations([...platformDocs(), ...app])).toEqual([
      '[one-scaler-per-target] ScaledObject/order-consumer: Deployment/order-consumer is scaled by ScaledObject/order-consumer and HorizontalPodAutoscaler/order-consumer-hpa; keep one',
    ]);
    expect(refusals(app)).toEqual([expect.stringMatching(/^ScaledObject\/order-consumer: .*\.spec\.triggers\[0\]\.metadata\.lagThreshold: expected string/)]);
  });

  it('flag untagged and latest images, and a secret-looking env var with a literal value', () => {
    expect(imageProblem('eshop/order')).toBe('image "eshop/order" has no tag');
    expect(imageProblem('localhost:5000/eshop/order')).toBe('image "localhost:5000/eshop/order" has no tag');
    expect(imageProblem('eshop/order:latest')).toBe('image "eshop/order:latest" uses the tag "latest"');
    expect(imageProblem('localhost:5000/eshop/order:0.1.0')).toBeUndefined();
    expect(imageProblem('eshop/order@sha256:0123')).toBeUndefined();
    const app = appDocs();
    const c = find(app, 'Deployment').spec.template.spec.containers[0];
    c.image = 'eshop/order:latest';
    c.env.push({ name: 'ORDER_DB_PASSWORD_FILE_TOKEN', value: 'hunter2' });
    expect(violations([...platformDocs(), ...app])).toEqual([
      '[image-tag] Deployment/order-consumer: container "order-consumer": image "eshop/order:latest" uses the tag "latest"',
      '[no-literal-secret-env] Deployment/order-consumer: container "order-consumer": env ORDER_DB_PASSWORD_FILE_TOKEN has a literal value; use valueFrom.secretKeyRef',
    ]);
  });

  it('find literal credentials in values and config source, but not references to secrets', () => {
    expect(literalCredentials({ mysql: { rootPassword: 'x', existingSecret: 'root', passwordKey: 'password' }, users: [{ token: 'abc' }, { token: '' }] })).toEqual([
      'mysql.rootPassword',
      'users[0].token',
    ]);
    expect(literalCredentialsInSource(`const a = { password: 'p4ss', passwordKey: 'password', key: 'password' };`)).toEqual(["password: 'p4ss'"]);
  });

  it('tell generated secrets (differ between two renders) from literal ones', () => {
    const first = platformDocs();
    const second = platformDocs();
    expect(secretsNotGenerated(first, second).problems).toEqual(['Secret/eshop-order-db key password is the same in two renders: a literal, not generated']);
    find(second, 'Secret').data.password = 'b3RoZXI=';
    expect(secretsNotGenerated(first, second)).toEqual({ checked: 1, problems: [] });
  });
});

describe('cross-layer checks', () => {
  it('pass when the app references exactly what the platform defines', () => {
    const report = checkCrossLayer(appDocs(), platformDocs());
    expect(report.problems).toEqual([]);
    expect(report.checked).toMatchObject({ 'kafka-bootstrap': 2, 'kafka-topic': 3, 'db-host': 1, 'referenced-keys': 2, 'consumer-group': 1, 'network-kafka': 1, 'network-mysql': 1, 'network-dns': 1 });
  });

  it('flag a bootstrap service or port, topic, DB host, secret key and consumer group the platform does not define', () => {
    const app = appDocs();
    const c = find(app, 'Deployment').spec.template.spec.containers[0];
    const env = (name: string) => c.env.find((e: { name: string }) => e.name === name);
    env('KAFKA_BROKERS').value = 'eshop-kafka-bootstrap.eshop.svc:9093';
    env('ORDER_DLQ_TOPIC').value = 'order-events-dlq';
    env('ORDER_DB_HOST').value = 'mysql.eshop.svc';
    env('ORDER_DB_PASSWORD').valueFrom.secretKeyRef.key = 'pass';
    env('ORDER_CONSUMER_GROUP').value = 'order-consumer';
    find(app, 'ScaledObject').spec.triggers[0].metadata.bootstrapServers = 'kafka:9092';
    expect(checkCrossLayer(app, platformDocs()).problems).toEqual([
      'Deployment/order-consumer container order-consumer KAFKA_BROKERS: bootstrap "eshop-kafka-bootstrap.eshop.svc:9093" port 9093 is not a plain internal listener port of Kafka eshop (9092)',
      'Deployment/order-consumer container order-consumer ORDER_DLQ_TOPIC: topic "order-events-dlq" is not a KafkaTopic in the platform render (order-events, order-events.dlq)',
      'Deployment/order-consumer container order-consumer ORDER_DB_HOST: "mysql.eshop.svc" is not the Service of an InnoDBCluster (platform has eshop-mysql)',
      'Deployment/order-consumer container order-consumer env ORDER_DB_PASSWORD: Secret "eshop-order-db" has no key "pass" (keys: username, password)',
      'ScaledObject/order-consumer trigger bootstrapServers: bootstrap "kafka:9092" is not <Kafka name>-kafka-bootstrap of a Kafka in namespace eshop (platform has eshop-kafka-bootstrap)',
      'ScaledObject/order-consumer: consumer group "order-consumers" differs from ORDER_CONSUMER_GROUP of Deployment/order-consumer (order-consumer)',
    ]);
  });

  it('read settings from envFrom ConfigMaps (with prefix) and configMapKeyRef, not only literal env', () => {
    const app = appDocs();
    const c = find(app, 'Deployment').spec.template.spec.containers[0];
    c.env = c.env.filter((e: { name: string }) => !['KAFKA_BROKERS', 'ORDER_CONSUMER_GROUP', 'ORDER_DB_HOST'].includes(e.name));
    c.envFrom = [{ configMapRef: { name: 'order-consumer' } }, { configMapRef: { name: 'order-consumer' }, prefix: 'OLD_' }];
    c.env.push({ name: 'ORDER_CONSUMER_GROUP', valueFrom: { configMapKeyRef: { name: 'order-consumer', key: 'GROUP' } } });
    app.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'order-consumer', namespace: 'eshop' }, data: { KAFKA_BROKERS: 'eshop-kafka-bootstrap:9092', ORDER_DB_HOST: 'eshop-mysql', GROUP: 'orders' } });
    expect(checkCrossLayer(app, platformDocs()).problems).toEqual([
      'ScaledObject/order-consumer: consumer group "order-consumers" differs from ORDER_CONSUMER_GROUP of Deployment/order-consumer (orders)',
    ]);
    expect(checkCrossLayer(app, platformDocs()).checked).toMatchObject({ 'kafka-bootstrap': 2, 'db-host': 1, 'network-kafka': 1 });
  });

  it('flag NetworkPolicies that block the Kafka listener, the MySQL router ports or DNS', () => {
    const app = appDocs();
    const egress = find(app, 'NetworkPolicy').spec.egress;
    egress[0].ports = [{ port: 9093 }];
    egress[1].ports = [{ port: 3306 }];
    egress.pop();
    expect(checkCrossLayer(app, platformDocs()).problems).toEqual([
      'Deployment/order-consumer container order-consumer: NetworkPolicies block TCP 9092 to Kafka eshop broker pods',
      'Deployment/order-consumer container order-consumer: NetworkPolicies block TCP 6446 to MySQL router pods of eshop-mysql',
      'Deployment/order-consumer: NetworkPolicies block DNS (UDP 53 to kube-dns); no Service name would resolve',
    ]);
  });

  it('flag platform values that do not expect the consumer autoscaling the app renders', () => {
    const values = { app: { orderConsumer: { maxReplicas: 4, autoscaling: 'keda' } }, keda: { enabled: true } };
    expect(checkAutoscalingAgreement(appDocs(), values)).toEqual([]);
    const wrong = mergeValues(values, { app: { orderConsumer: { maxReplicas: 12, autoscaling: 'hpa-external' } }, keda: { enabled: false }, 'prometheus-adapter': { enabled: true } });
    expect(checkAutoscalingAgreement(appDocs(), wrong)).toEqual([
      'app renders consumer autoscaling "keda", platform values app.orderConsumer.autoscaling is "hpa-external"',
      'app scales order-consumer to 4, platform values app.orderConsumer.maxReplicas is 12',
      'app renders a ScaledObject but the platform values do not enable keda',
    ]);
  });

  it('flag a token verifier without a key source or with two, and an upstream that cannot verify the identity it forwards', () => {
    const gateway = (env: unknown[]): Manifest => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gateway', namespace: 'eshop' },
      spec: { selector: { matchLabels: { app: 'gateway' } }, template: { metadata: { labels: { app: 'gateway' } }, spec: { containers: [{ name: 'gateway', image: 'eshop/gateway:1.0.0', env }] } } },
    });
    const ref = (kind: 'secretKeyRef' | 'configMapKeyRef', name: string, key: string) => ({ valueFrom: { [kind]: { name, key } } });
    const platform: Manifest[] = [
      ...platformDocs(),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'eshop-auth', namespace: 'eshop' }, data: { issuer: 'eshop-local', audience: 'eshop-api' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'eshop-gateway-identity', namespace: 'eshop' }, data: { secret: 'eA==' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'eshop-auth-local', namespace: 'eshop' }, data: { 'jwt-secret': 'eA==' } },
    ];
    const base = [
      { name: 'AUTH_JWT_ISSUER', ...ref('configMapKeyRef', 'eshop-auth', 'issuer') },
      { name: 'AUTH_JWT_AUDIENCE', ...ref('configMapKeyRef', 'eshop-auth', 'audience') },
      { name: 'GATEWAY_IDENTITY_SECRET', ...ref('secretKeyRef', 'eshop-gateway-identity', 'secret') },
      { name: 'ORDER_SERVICE_URL', value: 'http://order-consumer.eshop.svc:8083' },
    ];
    const service: Manifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'order-consumer', namespace: 'eshop' }, spec: { selector: { 'app.kubernetes.io/name': 'order-consumer' } } };
    const problems = (env: unknown[]) => checkCrossLayer([...appDocs(), service, gateway(env)], platform).problems.filter((p) => /AUTH|IDENTITY|key source/.test(p));

    expect(problems(base)).toEqual([
      'Deployment/gateway container gateway: no key source for access tokens (AUTH_JWKS_URL from the platform ConfigMap, or AUTH_JWT_SECRET from a Secret); the gateway refuses to start',
      'Deployment/order-consumer container order-consumer: reads GATEWAY_IDENTITY_SECRET from nowhere, but gateway (ORDER_SERVICE_URL) signs with eshop-gateway-identity/secret; every forwarded identity would be refused',
    ]);
    expect(problems([...base, { name: 'AUTH_JWT_SECRET', ...ref('secretKeyRef', 'eshop-auth-local', 'jwt-secret') }, { name: 'AUTH_JWKS_URL', value: 'https://idp.example.com/jwks' }])).toEqual([
      'Deployment/gateway container gateway: both AUTH_JWKS_URL and AUTH_JWT_SECRET; the gateway refuses to start',
      expect.stringMatching(/^Deployment\/order-consumer container order-consumer: reads GATEWAY_IDENTITY_SECRET from nowhere/),
    ]);
    // A JWKS URL key the platform does not render resolves to nothing: no key source (and a missing ConfigMap key).
    expect(problems([...base.slice(0, 3), { name: 'AUTH_JWKS_URL', ...ref('configMapKeyRef', 'eshop-auth', 'jwks-url') }])).toEqual([
      'Deployment/gateway container gateway env AUTH_JWKS_URL: ConfigMap "eshop-auth" has no key "jwks-url" (keys: issuer, audience)',
      'Deployment/gateway container gateway: no key source for access tokens (AUTH_JWKS_URL from the platform ConfigMap, or AUTH_JWT_SECRET from a Secret); the gateway refuses to start',
    ]);
  });

  it('flag a platform render without Kafka or InnoDBCluster instead of passing vacuously', () => {
    expect(checkCrossLayer(appDocs(), []).problems).toEqual(expect.arrayContaining(['platform render has no Strimzi Kafka', 'platform render has no InnoDBCluster']));
  });
});
