import { Testing } from 'cdk8s';
import { ConsumerLagAutoscaler } from '../src/constructs/autoscaling';
import { Microservice, terminationGracePeriodSeconds } from '../src/constructs/microservice';
import { auth, kafka, secrets } from '../src/platform-contract';
import { synthEnvironment } from '../src/synth';

type Obj = Record<string, any>;

const NO_ENV = {} as NodeJS.ProcessEnv;
const synth = (...args: Parameters<typeof synthEnvironment>) => synthEnvironment(args[0], args[1], args[2] ?? NO_ENV) as Obj[];
const ofKind = (docs: Obj[], kind: string) => docs.filter(d => d.kind === kind);
const named = (docs: Obj[], kind: string, name: string) => {
  const found = docs.find(d => d.kind === kind && d.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};
const podSpecs = (docs: Obj[]) => ofKind(docs, 'Deployment').map(d => d.spec.template.spec);
const allContainers = (docs: Obj[]) => podSpecs(docs).flatMap(s => [...(s.initContainers ?? []), ...s.containers]);

describe.each(['kind', 'eks'] as const)('%s environment', env => {
  const docs = synth(env);

  it('deploys the four workloads, each with Service, ServiceAccount, ConfigMap, PDB and ServiceMonitor', () => {
    const names = ['gateway', 'product', 'order-api', 'order-consumer'];
    expect(ofKind(docs, 'Deployment').map(d => d.metadata.name).sort()).toEqual([...names].sort());
    for (const name of names) {
      for (const kind of ['Service', 'ServiceAccount', 'ConfigMap', 'PodDisruptionBudget', 'ServiceMonitor']) {
        expect(named(docs, kind, name).metadata.namespace).toBe('eshop');
      }
    }
  });

  it("scrapes each workload's /metrics keeping the process's own service label (honorLabels)", () => {
    for (const monitor of ofKind(docs, 'ServiceMonitor')) {
      expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics', honorLabels: true })]);
    }
  });

  it('covers every Deployment with a PDB selecting exactly its pods (maxUnavailable 1)', () => {
    for (const dep of ofKind(docs, 'Deployment')) {
      const pdbs = ofKind(docs, 'PodDisruptionBudget').filter(p =>
        Object.entries(p.spec.selector.matchLabels).every(([k, v]) => dep.spec.template.metadata.labels[k] === v));
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0]!.spec.maxUnavailable).toBe(1);
    }
  });

  it('gives every container the hardened securityContext, requests and limits, and /tmp as emptyDir', () => {
    for (const c of allContainers(docs)) {
      expect(c.securityContext).toEqual({
        runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const r of ['cpu', 'memory']) {
        expect(c.resources.requests[r]).toBeDefined();
        expect(c.resources.limits[r]).toBeDefined();
      }
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
    for (const spec of podSpecs(docs)) {
      expect(spec.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
      expect(spec.automountServiceAccountToken).toBe(false);
    }
    for (const sa of ofKind(docs, 'ServiceAccount')) expect(sa.automountServiceAccountToken).toBe(false);
  });

  it('probes /readyz for readiness (gateway: /healthz) and /healthz for liveness on port http', () => {
    for (const spec of podSpecs(docs)) {
      const [c] = spec.containers;
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.startupProbe.httpGet.port).toBe('http');
      expect(c.readinessProbe.httpGet).toEqual({ path: c.name === 'gateway' ? '/healthz' : '/readyz', port: 'http' });
    }
  });

  it('gives pods longer to stop than SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS', () => {
    for (const name of ['gateway', 'product', 'order-api', 'order-consumer']) {
      const data = named(docs, 'ConfigMap', name).data;
      expect(data.SHUTDOWN_DELAY_MS).toBe('5000');
      const dep = named(docs, 'Deployment', name);
      expect(dep.spec.template.spec.terminationGracePeriodSeconds * 1000)
        .toBeGreaterThan(Number(data.SHUTDOWN_DELAY_MS) + Number(data.SHUTDOWN_TIMEOUT_MS));
    }
  });

  it('passes credentials only as secretKeyRef and keeps no Secret objects or secret literals', () => {
    expect(ofKind(docs, 'Secret')).toHaveLength(0);
    for (const cm of ofKind(docs, 'ConfigMap')) {
      expect(Object.keys(cm.data).filter(k => /PASSWORD|_USER$|SECRET|TOKEN/.test(k))).toEqual([]);
    }
    const db: Record<string, { name: string }> = { product: secrets.productDb, 'order-api': secrets.orderDb, 'order-consumer': secrets.orderDb };
    for (const c of allContainers(docs)) {
      for (const e of c.env ?? []) {
        // The pod's own name, namespace and node (downward API), and the tracing attributes built from them: the only
        // literal in `env`, because the kubelet expands $(…) there and not in a ConfigMap.
        if (e.valueFrom?.fieldRef) continue;
        if (e.name === 'OTEL_RESOURCE_ATTRIBUTES') {
          expect(e.value).toMatch(/k8s\.pod\.name=\$\(K8S_POD_NAME\)/);
          continue;
        }
        expect(e.value).toBeUndefined();
        if (e.valueFrom.configMapKeyRef) {
          expect(e.valueFrom.configMapKeyRef.name).toBe(auth.settings.name);
          continue;
        }
        const ref = e.valueFrom.secretKeyRef;
        if (/_DB_(USER|PASSWORD)$/.test(e.name)) {
          expect(ref.name).toBe(db[c.name === 'migrate' ? '' : c.name]?.name ?? ref.name);
          expect(['username', 'password']).toContain(ref.key);
        } else {
          const authKeys = [auth.identitySecret, auth.localIssuerSecret].map(k => `${k.name}/${k.key}`);
          expect({ [e.name]: `${ref.name}/${ref.key}` }).toEqual(e.name === 'AUTH_JWT_SECRET' ? { [e.name]: authKeys[1] } : { GATEWAY_IDENTITY_SECRET: authKeys[0] });
        }
      }
    }
    expect(named(docs, 'Deployment', 'product').spec.template.spec.containers[0].env.map((e: Obj) => e.name).filter((n: string) => !/^(K8S_|OTEL_)/.test(n)))
      .toEqual(['PRODUCT_DB_USER', 'PRODUCT_DB_PASSWORD', 'GATEWAY_IDENTITY_SECRET']);
  });

  it('gives the identity key (Secret eshop-gateway-identity) to gateway, product and order-api — and their migrations — but not to the consumers', () => {
    const refs = (name: string) => {
      const spec = named(docs, 'Deployment', name).spec.template.spec;
      return [...(spec.initContainers ?? []), ...spec.containers].map((c: Obj) =>
        (c.env ?? []).find((e: Obj) => e.name === 'GATEWAY_IDENTITY_SECRET')?.valueFrom.secretKeyRef);
    };
    const key = { name: auth.identitySecret.name, key: auth.identitySecret.key };
    expect(refs('gateway')).toEqual([key]);
    expect(refs('product')).toEqual([key, key]);
    expect(refs('order-api')).toEqual([key, key]);
    expect(refs('order-consumer')).toEqual([undefined]);
  });

  it('reads issuer, audience and roles claim of access tokens from the platform ConfigMap eshop-auth, and rate limits from its own', () => {
    const env = named(docs, 'Deployment', 'gateway').spec.template.spec.containers[0].env as Obj[];
    const fromConfigMap = Object.fromEntries(env.filter(e => e.valueFrom?.configMapKeyRef).map(e => [e.name, e.valueFrom.configMapKeyRef]));
    expect(fromConfigMap).toMatchObject({
      AUTH_JWT_ISSUER: { name: 'eshop-auth', key: 'issuer' },
      AUTH_JWT_AUDIENCE: { name: 'eshop-auth', key: 'audience' },
      AUTH_ROLES_CLAIM: { name: 'eshop-auth', key: 'roles-claim' },
    });
    const data = named(docs, 'ConfigMap', 'gateway').data;
    expect(data).toMatchObject({ RATE_LIMIT_WINDOW_MS: '60000', RATE_LIMIT_PER_IP: expect.stringMatching(/^[1-9]\d*$/), RATE_LIMIT_PER_IDENTITY: '600' });
    expect(Object.keys(data).filter(k => k.startsWith('AUTH_'))).toEqual([]);
  });

  it('never uses a latest or untagged image', () => {
    for (const c of allContainers(docs)) {
      expect(c.image).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(c.image).not.toMatch(/:latest$/);
    }
  });

  it('runs migrations as initContainer `migrate` in product and order-api only', () => {
    const migrate = (name: string) => named(docs, 'Deployment', name).spec.template.spec.initContainers;
    expect(migrate('product')).toEqual([expect.objectContaining({ name: 'migrate', args: ['node', 'dist/migrate.js'] })]);
    expect(migrate('order-api')).toEqual([expect.objectContaining({ name: 'migrate', args: ['node', 'dist/migrate.js'] })]);
    expect(migrate('gateway')).toBeUndefined();
    expect(migrate('order-consumer')).toBeUndefined();
    expect(named(docs, 'Deployment', 'order-consumer').spec.template.spec.containers[0].args).toEqual(['node', 'dist/consumer.js']);
  });

  it('wires the contract names (bootstrap, topics, group, DB host) into the consumer config', () => {
    expect(named(docs, 'ConfigMap', 'order-consumer').data).toMatchObject({
      KAFKA_BROKERS: 'eshop-kafka-bootstrap.eshop.svc:9092',
      KAFKA_ORDER_TOPIC: 'order-events',
      ORDER_DLQ_TOPIC: 'order-events.dlq',
      ORDER_CONSUMER_GROUP: 'order-consumers',
      ORDER_DB_HOST: 'eshop-mysql.eshop.svc',
      ORDER_DB_PORT: '3306',
      ORDER_DB_NAME: 'order_db',
      ORDER_CONSUMER_PORT: '8083',
      PRODUCT_SERVICE_URL: 'http://product.eshop.svc:8081',
    });
  });

  it('scales order-consumer with a KEDA kafka trigger whose metadata are all strings from the contract', () => {
    const so = named(docs, 'ScaledObject', 'order-consumer');
    const [trigger] = so.spec.triggers;
    expect(trigger.type).toBe('kafka');
    expect(trigger.metadata).toEqual({
      bootstrapServers: 'eshop-kafka-bootstrap.eshop.svc:9092',
      consumerGroup: kafka.orderConsumerGroup,
      topic: kafka.topics.orderEvents.name,
      lagThreshold: '100',
      activationLagThreshold: '10',
      offsetResetPolicy: 'earliest',
      allowIdleConsumers: 'false',
    });
    for (const v of Object.values(trigger.metadata)) expect(typeof v).toBe('string');
    expect(so.spec.maxReplicaCount).toBeLessThanOrEqual(kafka.topics.orderEvents.partitions);
    expect([so.spec.minReplicaCount, so.spec.maxReplicaCount]).toEqual(env === 'kind' ? [1, 4] : [2, 12]);
    const { behavior } = so.spec.advanced.horizontalPodAutoscalerConfig;
    for (const dir of ['scaleUp', 'scaleDown']) {
      expect(behavior[dir].stabilizationWindowSeconds).toEqual(expect.any(Number));
      expect(behavior[dir].policies.length).toBeGreaterThan(0);
    }
  });

  it('leaves spec.replicas to the autoscalers and never scales one Deployment twice', () => {
    const owners = [
      ...ofKind(docs, 'HorizontalPodAutoscaler').map(h => h.spec.scaleTargetRef.name),
      ...ofKind(docs, 'ScaledObject').map(s => s.spec.scaleTargetRef.name),
    ];
    expect(new Set(owners).size).toBe(owners.length);
    for (const name of owners) expect(named(docs, 'Deployment', name).spec.replicas).toBeUndefined();
    for (const name of ['gateway', 'product', 'order-api']) {
      expect(named(docs, 'HorizontalPodAutoscaler', name).spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ]);
    }
  });

  it('lets product be called only by gateway, order-api and order-consumer', () => {
    const np = named(docs, 'NetworkPolicy', 'product');
    expect(np.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('product');
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0].from.map((f: Obj) => f.podSelector.matchLabels['app.kubernetes.io/name']).sort())
      .toEqual(['gateway', 'order-api', 'order-consumer']);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 'http' }]);
  });

  it('denies all app traffic by default and allows DNS, Kafka and MySQL router egress where needed', () => {
    const deny = named(docs, 'NetworkPolicy', 'eshop-app-default-deny');
    expect(deny.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'eshop', 'app.kubernetes.io/managed-by': 'cdk8s' } },
      policyTypes: ['Ingress', 'Egress'],
    });
    const dns = named(docs, 'NetworkPolicy', 'eshop-app-allow-dns').spec.egress[0];
    expect(dns.ports).toEqual([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
    for (const name of ['product', 'order-api', 'order-consumer']) {
      const egress = named(docs, 'NetworkPolicy', name).spec.egress as Obj[];
      expect(egress).toContainEqual({ to: [{ podSelector: { matchLabels: { 'strimzi.io/cluster': 'eshop', 'strimzi.io/kind': 'Kafka' } } }], ports: [{ protocol: 'TCP', port: 9092 }] });
      expect(egress).toContainEqual({
        to: [{ podSelector: { matchLabels: { 'mysql.oracle.com/cluster': 'eshop-mysql', component: 'mysqlrouter' } } }],
        ports: [{ protocol: 'TCP', port: 3306 }, { protocol: 'TCP', port: 6446 }],
      });
    }
    const gatewayEgress = named(docs, 'NetworkPolicy', 'gateway').spec.egress as Obj[];
    expect(gatewayEgress.map(e => [e.to[0].podSelector.matchLabels['app.kubernetes.io/name'], e.ports[0].port]))
      .toEqual([['product', 8081], ['order-api', 8082]]);
  });

  it('routes the Ingress to the gateway Service port http', () => {
    const ing = named(docs, 'Ingress', 'gateway');
    expect(ing.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'gateway', port: { name: 'http' } } });
    expect(ing.spec.ingressClassName).toBe(env === 'kind' ? 'traefik' : 'alb');
  });
});

describe('environment specifics', () => {
  it('eks images come from ESHOP_IMAGE_REGISTRY; without it (skaffold --default-repo) and on kind they are bare repository names', () => {
    const eks = synth('eks', undefined, { ESHOP_IMAGE_REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(named(eks, 'Deployment', 'order-consumer').spec.template.spec.containers[0].image)
      .toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/eshop/order:0.1.0');
    expect(named(synth('eks'), 'Deployment', 'gateway').spec.template.spec.containers[0].image)
      .toBe('eshop/gateway:0.1.0');
    expect(named(synth('kind'), 'Deployment', 'gateway').spec.template.spec.containers[0].image).toBe('eshop/gateway:0.1.0');
  });

  it('refuses ESHOP_IMAGE_TAG=latest, naming the field', () => {
    expect(() => synth('kind', undefined, { ESHOP_IMAGE_TAG: 'latest' })).toThrow(/image\.tag="latest"/);
  });

  it('annotates eks ServiceAccounts with the IRSA role only when ESHOP_IRSA_ROLE_ARN is set, and validates it', () => {
    const arn = 'arn:aws:iam::123456789012:role/eshop-app';
    for (const sa of ofKind(synth('eks', undefined, { ESHOP_IRSA_ROLE_ARN: arn }), 'ServiceAccount')) {
      expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': arn });
    }
    for (const sa of ofKind(synth('eks'), 'ServiceAccount')) expect(sa.metadata.annotations).toBeUndefined();
    expect(() => synth('eks', undefined, { ESHOP_IRSA_ROLE_ARN: 'eshop-app' })).toThrow(/ESHOP_IRSA_ROLE_ARN/);
  });

  it('eks spreads hard over zones and soft over nodes; kind spreads softly (its nodes have no zone label)', () => {
    const spread = (docs: Obj[]) => named(docs, 'Deployment', 'product').spec.template.spec.topologySpreadConstraints
      .map((t: Obj) => [t.topologyKey, t.whenUnsatisfiable]);
    expect(spread(synth('eks'))).toEqual([['topology.kubernetes.io/zone', 'DoNotSchedule'], ['kubernetes.io/hostname', 'ScheduleAnyway']]);
    expect(spread(synth('kind'))).toEqual([['topology.kubernetes.io/zone', 'ScheduleAnyway'], ['kubernetes.io/hostname', 'ScheduleAnyway']]);
  });

  it('eks uses an internet-facing ALB with ip targets; the gateway then accepts traffic from any source', () => {
    const eks = synth('eks');
    expect(named(eks, 'Ingress', 'gateway').metadata.annotations).toMatchObject({
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/target-type': 'ip',
    });
    // Plus the explicit k6 runner rule (see cdk8s/test/load-tests.test.ts).
    expect(named(eks, 'NetworkPolicy', 'gateway').spec.ingress[0]).toEqual({ ports: [{ protocol: 'TCP', port: 'http' }] });
    const kindIngress = named(synth('kind'), 'NetworkPolicy', 'gateway').spec.ingress[0];
    expect(kindIngress.from).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }]);
  });
});

describe('authentication and rate limits per environment', () => {
  const gatewayEnv = (docs: Obj[]) => named(docs, 'Deployment', 'gateway').spec.template.spec.containers[0].env as Obj[];
  const source = (docs: Obj[], name: string) => gatewayEnv(docs).find(e => e.name === name)?.valueFrom;

  it('kind verifies tokens with the local issuer key (Secret eshop-auth-local) and never names a JWKS URL', () => {
    const docs = synth('kind');
    expect(source(docs, 'AUTH_JWT_SECRET')).toEqual({ secretKeyRef: { name: 'eshop-auth-local', key: 'jwt-secret' } });
    expect(source(docs, 'AUTH_JWKS_URL')).toBeUndefined();
  });

  it('eks verifies tokens with the identity provider keys (jwks-url of eshop-auth) and has no local key', () => {
    const docs = synth('eks');
    expect(source(docs, 'AUTH_JWKS_URL')).toEqual({ configMapKeyRef: { name: 'eshop-auth', key: 'jwks-url' } });
    expect(source(docs, 'AUTH_JWT_SECRET')).toBeUndefined();
  });

  it('sizes the per-IP limit of kind above the busiest k6 runner (flash sale, 300 req/s) and keeps eks at production limits', () => {
    expect(named(synth('kind'), 'ConfigMap', 'gateway').data).toMatchObject({ RATE_LIMIT_PER_IP: '24000', RATE_LIMIT_PER_IDENTITY: '600' });
    expect(named(synth('eks'), 'ConfigMap', 'gateway').data).toMatchObject({ RATE_LIMIT_PER_IP: '6000', RATE_LIMIT_PER_IDENTITY: '600' });
  });

  it('takes ESHOP_RATE_LIMIT_PER_IP / _PER_IDENTITY as overrides (0 = off) and refuses anything but a non-negative integer', () => {
    const docs = synth('eks', undefined, { ESHOP_RATE_LIMIT_PER_IP: '60000', ESHOP_RATE_LIMIT_PER_IDENTITY: '0' });
    expect(named(docs, 'ConfigMap', 'gateway').data).toMatchObject({ RATE_LIMIT_PER_IP: '60000', RATE_LIMIT_PER_IDENTITY: '0' });
    expect(() => synth('kind', undefined, { ESHOP_RATE_LIMIT_PER_IP: 'lots' }))
      .toThrow(/ESHOP_RATE_LIMIT_PER_IP="lots": must be a non-negative integer/);
    expect(() => synth('kind', { rateLimits: { windowMs: 10 } })).toThrow(/kind: rateLimits\.windowMs=10: must be an integer ≥ 1000/);
  });
});

describe('tracing per environment', () => {
  const DEPLOYMENTS = ['gateway', 'product', 'order-api', 'order-consumer'];
  const appContainer = (docs: Obj[], name: string) => named(docs, 'Deployment', name).spec.template.spec.containers[0] as Obj;
  const OTEL_KEYS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'];

  it('kind exports every process\'s spans to the platform\'s Jaeger, every trace kept, and allows exactly that egress', () => {
    const docs = synth('kind');
    for (const name of DEPLOYMENTS) {
      expect(named(docs, 'ConfigMap', name).data).toMatchObject({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://eshop-jaeger.eshop.svc:4318',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '1',
      });
    }
    expect(named(docs, 'NetworkPolicy', 'eshop-app-allow-tracing').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'eshop', 'app.kubernetes.io/managed-by': 'cdk8s' } },
      policyTypes: ['Egress'],
      egress: [{
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jaeger', 'app.kubernetes.io/part-of': 'eshop-platform' } } }],
        ports: [{ protocol: 'TCP', port: 4318 }],
      }],
    });
  });

  it('names the pod, node, namespace, Deployment and release on every span (resource attributes from the downward API)', () => {
    const env = appContainer(synth('kind'), 'order-consumer').env as Obj[];
    const names = env.map(e => e.name);
    expect(env.find(e => e.name === 'K8S_POD_NAME')).toEqual({ name: 'K8S_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(env.find(e => e.name === 'K8S_NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    const attributes = env.find(e => e.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value as string;
    expect(Object.fromEntries(attributes.split(',').map(kv => kv.split('=')))).toEqual({
      'service.namespace': 'eshop',
      'service.version': '0.1.0',
      'deployment.environment.name': 'kind',
      'k8s.deployment.name': 'order-consumer',
      'k8s.namespace.name': '$(K8S_NAMESPACE_NAME)',
      'k8s.pod.name': '$(K8S_POD_NAME)',
      'k8s.node.name': '$(K8S_NODE_NAME)',
    });
    // $(…) expands only to variables defined earlier in the list.
    for (const ref of ['K8S_NAMESPACE_NAME', 'K8S_POD_NAME', 'K8S_NODE_NAME']) {
      expect(names.indexOf(ref)).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    }
  });

  it('ESHOP_TRACING=off on kind, and eks without ESHOP_OTLP_ENDPOINT: no OTEL_* variable and no tracing egress', () => {
    for (const docs of [synth('kind', undefined, { ESHOP_TRACING: 'off' }), synth('eks')]) {
      for (const name of DEPLOYMENTS) {
        for (const key of OTEL_KEYS) expect(named(docs, 'ConfigMap', name).data[key]).toBeUndefined();
        expect((appContainer(docs, name).env as Obj[]).map(e => e.name)).not.toContain('OTEL_RESOURCE_ATTRIBUTES');
      }
      expect(ofKind(docs, 'NetworkPolicy').map(n => n.metadata.name)).not.toContain('eshop-app-allow-tracing');
    }
  });

  it('eks exports to ESHOP_OTLP_ENDPOINT, one new trace in ten unless ESHOP_TRACE_SAMPLE_RATIO says otherwise', () => {
    const collector = synth('eks', undefined, { ESHOP_OTLP_ENDPOINT: 'http://otel-collector.observability.svc:4318' });
    expect(named(collector, 'ConfigMap', 'product').data).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability.svc:4318',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
    // A collector outside the namespace: its port, to any destination.
    expect(named(collector, 'NetworkPolicy', 'eshop-app-allow-tracing').spec.egress).toEqual([{ ports: [{ protocol: 'TCP', port: 4318 }] }]);
    // The platform's Jaeger: exactly its pods.
    const jaeger = synth('eks', undefined, { ESHOP_OTLP_ENDPOINT: 'http://eshop-jaeger.eshop.svc:4318', ESHOP_TRACE_SAMPLE_RATIO: '0.5' });
    expect(named(jaeger, 'ConfigMap', 'gateway').data.OTEL_TRACES_SAMPLER_ARG).toBe('0.5');
    expect(named(jaeger, 'NetworkPolicy', 'eshop-app-allow-tracing').spec.egress[0].to).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jaeger', 'app.kubernetes.io/part-of': 'eshop-platform' } } },
    ]);
    const https = synth('eks', undefined, { ESHOP_OTLP_ENDPOINT: 'https://otlp.example.com' });
    expect(named(https, 'NetworkPolicy', 'eshop-app-allow-tracing').spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 443 }]);
  });

  it('refuses an endpoint that is not an http(s) URL and a ratio outside 0..1, naming the variable', () => {
    expect(() => synth('eks', undefined, { ESHOP_OTLP_ENDPOINT: 'otel-collector:4318' })).toThrow(/tracing\.otlpEndpoint \(ESHOP_OTLP_ENDPOINT\)="otel-collector:4318": must be an http\(s\) URL/);
    expect(() => synth('kind', undefined, { ESHOP_TRACE_SAMPLE_RATIO: '10%' })).toThrow(/ESHOP_TRACE_SAMPLE_RATIO="10%": must be a ratio between 0 and 1/);
  });
});

describe('order-consumer autoscaling modes', () => {
  it('hpa-external yields an autoscaling/v2 HPA on the lag metric and no ScaledObject', () => {
    const docs = synth('eks', { orderConsumer: { autoscaling: { mode: 'hpa-external' } } });
    expect(ofKind(docs, 'ScaledObject')).toHaveLength(0);
    const hpa = named(docs, 'HorizontalPodAutoscaler', 'order-consumer');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 12 });
    expect(hpa.spec.metrics).toEqual([{
      type: 'External',
      external: {
        metric: { name: 'kafka_consumergroup_lag', selector: { matchLabels: { consumergroup: 'order-consumers', topic: 'order-events' } } },
        target: { type: 'AverageValue', averageValue: '100' },
      },
    }]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(named(docs, 'Deployment', 'order-consumer').spec.replicas).toBeUndefined();
  });

  it('none yields fixed replicas and no autoscaler for the consumer', () => {
    const docs = synth('kind', { orderConsumer: { autoscaling: { mode: 'none', replicas: 3 } } });
    expect(ofKind(docs, 'ScaledObject')).toHaveLength(0);
    expect(ofKind(docs, 'HorizontalPodAutoscaler').map(h => h.metadata.name)).not.toContain('order-consumer');
    expect(named(docs, 'Deployment', 'order-consumer').spec.replicas).toBe(3);
  });

  it('throws at synth time when maxReplicas exceeds the partitions of order-events', () => {
    expect(() => synth('eks', { orderConsumer: { autoscaling: { maxReplicas: 13 } } }))
      .toThrow(/orderConsumer\.autoscaling\.maxReplicas=13: must be ≤ the 12 partitions of order-events/);
    expect(() => synth('eks', { orderConsumer: { autoscaling: { mode: 'hpa-external', maxReplicas: 24 } } })).toThrow(/maxReplicas=24/);
  });

  it('the construct itself refuses maxReplicas above the partitions it is given', () => {
    const chart = Testing.chart();
    expect(() => new ConsumerLagAutoscaler(chart, 'x', {
      mode: 'keda', deploymentName: 'c', labels: {}, bootstrapServers: 'b:9092', partitions: 3,
      minReplicas: 1, maxReplicas: 4, lagThreshold: '100', activationLagThreshold: '10', offsetResetPolicy: 'earliest',
    })).toThrow(/c: maxReplicas=4: must be ≤ 3/);
  });
});

describe('Microservice', () => {
  const base = {
    name: 'svc', role: 'api' as const, image: 'eshop/svc:1.0.0', port: 9000, env: { A: '1' },
    resources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '100m', memory: '100Mi' } },
    shutdown: { delayMs: 5000, timeoutMs: 20000 }, topologySpread: { zone: 'ScheduleAnyway', hostname: 'ScheduleAnyway' } as const,
    version: '1.0.0',
  };

  it('rolls pods when the ConfigMap changes (checksum annotation)', () => {
    const hash = (env: Record<string, string>) => {
      const chart = Testing.chart();
      new Microservice(chart, 'm', { ...base, env });
      return Testing.synth(chart).find(d => d.kind === 'Deployment').spec.template.metadata.annotations['checksum/config'];
    };
    expect(hash({ A: '1' })).toBe(hash({ A: '1' }));
    expect(hash({ A: '1' })).not.toBe(hash({ A: '2' }));
  });

  it('rejects a variable that is both plain and secret, naming it', () => {
    expect(() => new Microservice(Testing.chart(), 'm', { ...base, secretEnv: { A: { secretName: 's', key: 'k' } } }))
      .toThrow(/svc: env\.A="1": also listed in secretEnv/);
  });

  it('rejects a variable with two sources among env, secretEnv and configMapEnv, naming it', () => {
    expect(() => new Microservice(Testing.chart(), 'm', { ...base, configMapEnv: { A: { configMapName: 'c', key: 'k' } } }))
      .toThrow(/svc: env\.A="1": also listed in configMapEnv/);
    expect(() => new Microservice(Testing.chart(), 'm', { ...base, secretEnv: { B: { secretName: 's', key: 'k' } }, configMapEnv: { B: { configMapName: 'c', key: 'k' } } }))
      .toThrow(/svc: secretEnv\.B: also listed in configMapEnv/);
    expect(() => new Microservice(Testing.chart(), 'm', { ...base, podFieldEnv: { P: 'metadata.name' }, expandedEnv: { P: '$(A)' } }))
      .toThrow(/svc: podFieldEnv\.P: also listed in expandedEnv/);
    expect(() => new Microservice(Testing.chart(), 'm', { ...base, expandedEnv: { A: '$(B)' } }))
      .toThrow(/svc: env\.A="1": also listed in expandedEnv/);
  });

  it('derives the grace period from the shutdown budget', () => {
    expect(terminationGracePeriodSeconds({ delayMs: 5000, timeoutMs: 20000 })).toBe(30);
  });
});
