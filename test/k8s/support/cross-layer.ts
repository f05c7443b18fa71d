/**
 * Cross-layer checks: what the application (cdk8s render) references must be exactly what the platform
 * (Helm render) defines — read from both renders, never from a shared constant, so a rename on one side
 * fails here instead of in a cluster.
 */
import type { Manifest } from './render';
import { arrayOf, containersOf, isObject, labelsOf, nameOf, namespaceOf, objectOf as obj, ofKind, podTemplateOf, scalersOf, selectorMatches } from './policies';

export interface CrossLayerReport {
  checked: Record<string, number>;
  problems: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

type ConfigMapData = Map<string, Record<string, string>>;

/** ns/name → data of every ConfigMap in the docs. */
function configMapData(docs: Manifest[], defaultNs: string): ConfigMapData {
  return new Map(
    ofKind(docs, 'ConfigMap').map((c) => [`${namespaceOf(c, defaultNs)}/${nameOf(c)}`, Object.fromEntries(Object.entries(obj(c['data'])).map(([k, v]) => [k, String(v)]))]),
  );
}

/**
 * The environment a container sees, as far as manifests tell: envFrom ConfigMaps (with their prefix), then
 * env values and configMapKeyRefs, later entries winning as in the kubelet. Secret values are not resolved.
 */
export function effectiveEnv(container: Record<string, unknown>, namespace: string, configMaps: ConfigMapData): Map<string, string> {
  const env = new Map<string, string>();
  for (const source of arrayOf(container['envFrom'])) {
    const data = isObject(source['configMapRef']) ? configMaps.get(`${namespace}/${String(obj(source['configMapRef'])['name'])}`) : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env.set(`${str(source['prefix']) ?? ''}${k}`, v);
  }
  for (const e of arrayOf(container['env'])) {
    const name = String(e['name']);
    const ref = obj(obj(e['valueFrom'])['configMapKeyRef']);
    if (typeof e['value'] === 'string') env.set(name, e['value']);
    else if (ref['name'] !== undefined) {
      const value = configMaps.get(`${namespace}/${String(ref['name'])}`)?.[String(ref['key'])];
      if (value !== undefined) env.set(name, value);
    } else env.delete(name);
  }
  return env;
}

/** host may be "svc", "svc.ns", "svc.ns.svc" or "svc.ns.svc.cluster.local": the Service name and namespace it means. */
export function serviceOfHost(host: string, defaultNs: string): { service: string; namespace: string } {
  const [service = '', namespace = defaultNs, ...rest] = host.split('.');
  const suffix = rest.join('.');
  if (rest.length > 0 && suffix !== 'svc' && suffix !== 'svc.cluster.local') return { service: host, namespace: '?' };
  return { service, namespace };
}

/** Ports a NetworkPolicy rule allows; undefined = all ports. */
function rulePorts(rule: Record<string, unknown>): { port?: number | string; endPort?: number; protocol: string }[] | undefined {
  const ports = arrayOf(rule['ports']);
  if (!Array.isArray(rule['ports']) || ports.length === 0) return undefined;
  return ports.map((p) => ({
    protocol: str(p['protocol']) ?? 'TCP',
    ...(p['port'] !== undefined ? { port: p['port'] as number | string } : {}),
    ...(typeof p['endPort'] === 'number' ? { endPort: p['endPort'] } : {}),
  }));
}

const portAllowed = (allowed: ReturnType<typeof rulePorts>, port: number, protocol = 'TCP'): boolean =>
  allowed === undefined ||
  allowed.some((p) => p.protocol === protocol && (p.port === undefined || p.port === port || (typeof p.port === 'number' && p.endPort !== undefined && port >= p.port && port <= p.endPort)));

/** Does a peer (podSelector / namespaceSelector / ipBlock) admit pods with these labels in that namespace? */
function peerAdmits(peer: Record<string, unknown>, labels: Record<string, string>, namespace: string, policyNs: string): boolean {
  if (isObject(peer['ipBlock'])) return false; // pod IPs are not pinned; an ipBlock never names our pods reliably
  const podOk = peer['podSelector'] === undefined || selectorMatches(peer['podSelector'], labels);
  const nsOk = peer['namespaceSelector'] !== undefined
    ? selectorMatches(peer['namespaceSelector'], { 'kubernetes.io/metadata.name': namespace })
    : namespace === policyNs;
  return podOk && nsOk;
}

/**
 * Is traffic from pods `from` to pods `to` on port allowed by the NetworkPolicies in `docs`?
 * Models the API: isolated in a direction only when some policy selects the pod for that direction.
 */
export function trafficAllowed(
  docs: Manifest[],
  from: { labels: Record<string, string>; namespace: string },
  to: { labels: Record<string, string>; namespace: string },
  port: number,
  protocol = 'TCP',
  defaultNs = 'eshop',
): boolean {
  const policies = ofKind(docs, 'NetworkPolicy');
  const applies = (np: Manifest, pod: { labels: Record<string, string>; namespace: string }, dir: 'Ingress' | 'Egress'): boolean => {
    const spec = obj(np['spec']);
    // Without policyTypes a policy always isolates ingress, and egress only when it has egress rules.
    const types = Array.isArray(spec['policyTypes']) ? spec['policyTypes'].map(String) : ['Ingress', ...(spec['egress'] !== undefined ? ['Egress'] : [])];
    return types.includes(dir) && namespaceOf(np, defaultNs) === pod.namespace && selectorMatches(spec['podSelector'], pod.labels);
  };
  const egress = policies.filter((np) => applies(np, from, 'Egress'));
  const egressOk = egress.length === 0 || egress.some((np) =>
    arrayOf(obj(np['spec'])['egress']).some((rule) => {
      const peers = arrayOf(rule['to']);
      const peerOk = !Array.isArray(rule['to']) || peers.length === 0 || peers.some((p) => peerAdmits(p, to.labels, to.namespace, namespaceOf(np, defaultNs)));
      return peerOk && portAllowed(rulePorts(rule), port, protocol);
    }));
  const ingress = policies.filter((np) => applies(np, to, 'Ingress'));
  const ingressOk = ingress.length === 0 || ingress.some((np) =>
    arrayOf(obj(np['spec'])['ingress']).some((rule) => {
      const peers = arrayOf(rule['from']);
      const peerOk = !Array.isArray(rule['from']) || peers.length === 0 || peers.some((p) => peerAdmits(p, from.labels, from.namespace, namespaceOf(np, defaultNs)));
      return peerOk && portAllowed(rulePorts(rule), port, protocol);
    }));
  return egressOk && ingressOk;
}

/** Does some egress rule of the policies selecting these pods allow DNS (UDP 53)? True when egress is not restricted. */
function dnsAllowed(docs: Manifest[], pod: { labels: Record<string, string>; namespace: string }, defaultNs: string): boolean {
  const kubeDns = { labels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system' };
  return trafficAllowed(docs, pod, kubeDns, 53, 'UDP', defaultNs);
}

export function checkCrossLayer(app: Manifest[], platform: Manifest[], defaultNs = 'eshop'): CrossLayerReport {
  const checked: Record<string, number> = {};
  const problems: string[] = [];
  const count = (check: string): void => {
    checked[check] = (checked[check] ?? 0) + 1;
  };
  const all = [...platform, ...app];
  const cmData = configMapData(all, defaultNs);
  const envValues = (workload: Manifest, container: Record<string, unknown>): Map<string, string> =>
    effectiveEnv(container, namespaceOf(workload, defaultNs), cmData);

  // ------------------------------------------------------------------ what the platform defines
  const kafkas = ofKind(platform, 'Kafka');
  if (kafkas.length === 0) problems.push('platform render has no Strimzi Kafka');
  const bootstrap = new Map<string, { namespace: string; ports: number[]; kafka: string }>();
  for (const k of kafkas) {
    const listeners = arrayOf(obj(obj(k['spec'])['kafka'])['listeners']);
    const ports = listeners.filter((l) => l['tls'] === false && l['type'] === 'internal').map((l) => Number(l['port']));
    bootstrap.set(`${nameOf(k)}-kafka-bootstrap`, { namespace: namespaceOf(k, defaultNs), ports, kafka: nameOf(k) });
  }
  const topics = new Map(
    ofKind(platform, 'KafkaTopic').map((t) => [
      str(obj(t['spec'])['topicName']) ?? nameOf(t),
      { cluster: labelsOf(t['metadata'])['strimzi.io/cluster'], partitions: obj(t['spec'])['partitions'] as number | undefined },
    ]),
  );
  for (const [topic, t] of topics) {
    count('topic-cluster');
    if (!kafkas.some((k) => nameOf(k) === t.cluster)) problems.push(`KafkaTopic ${topic}: label strimzi.io/cluster=${String(t.cluster)} names no Kafka in the platform render`);
  }
  const mysqlClusters = ofKind(platform, 'InnoDBCluster');
  if (mysqlClusters.length === 0) problems.push('platform render has no InnoDBCluster');
  const secrets = new Map(
    ofKind(all, 'Secret').map((s) => [`${namespaceOf(s, defaultNs)}/${nameOf(s)}`, new Set([...Object.keys(obj(s['data'])), ...Object.keys(obj(s['stringData']))])]),
  );
  const configMaps = new Map(
    ofKind(all, 'ConfigMap').map((c) => [`${namespaceOf(c, defaultNs)}/${nameOf(c)}`, new Set([...Object.keys(obj(c['data'])), ...Object.keys(obj(c['binaryData']))])]),
  );

  const checkBootstrap = (where: string, value: string): { kafka: string; namespace: string; port: number } | undefined => {
    count('kafka-bootstrap');
    const found: { kafka: string; namespace: string; port: number }[] = [];
    for (const server of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [host = '', portText = ''] = server.split(':');
      const { service, namespace } = serviceOfHost(host, defaultNs);
      const b = bootstrap.get(service);
      const port = Number(portText);
      if (!b || b.namespace !== namespace) problems.push(`${where}: bootstrap "${server}" is not <Kafka name>-kafka-bootstrap of a Kafka in namespace ${namespace} (platform has ${[...bootstrap.keys()].join(', ') || 'none'})`);
      else if (!b.ports.includes(port)) problems.push(`${where}: bootstrap "${server}" port ${portText || '(none)'} is not a plain internal listener port of Kafka ${b.kafka} (${b.ports.join(', ') || 'none'})`);
      else found.push({ kafka: b.kafka, namespace, port });
    }
    return found[0];
  };
  const checkTopic = (where: string, topic: string, maxReplicas?: number): void => {
    count('kafka-topic');
    const t = topics.get(topic);
    if (!t) problems.push(`${where}: topic "${topic}" is not a KafkaTopic in the platform render (${[...topics.keys()].join(', ') || 'none'})`);
    else if (maxReplicas !== undefined && (t.partitions === undefined || t.partitions < maxReplicas)) {
      problems.push(`${where}: max replicas ${maxReplicas} > ${String(t.partitions)} partitions of "${topic}"`);
    }
  };

  // ------------------------------------------------------------------ app containers' references
  const kafkaUsers: { labels: Record<string, string>; namespace: string; where: string; port: number; kafka: string }[] = [];
  const dbUsers: { labels: Record<string, string>; namespace: string; where: string; cluster: string; port: number }[] = [];
  for (const { workload, container } of containersOf(app)) {
    const where = `${String(workload['kind'])}/${nameOf(workload)} container ${String(container['name'])}`;
    const ns = namespaceOf(workload, defaultNs);
    const podLabels = labelsOf(obj(podTemplateOf(workload))['metadata']);
    const env = envValues(workload, container);

    const brokers = env.get('KAFKA_BROKERS');
    if (brokers !== undefined) {
      const b = checkBootstrap(`${where} KAFKA_BROKERS`, brokers);
      if (b) kafkaUsers.push({ labels: podLabels, namespace: ns, where, port: b.port, kafka: b.kafka });
    }
    for (const name of ['KAFKA_PRODUCT_TOPIC', 'KAFKA_ORDER_TOPIC', 'ORDER_DLQ_TOPIC']) {
      const topic = env.get(name);
      if (topic !== undefined) checkTopic(`${where} ${name}`, topic);
    }
    for (const prefix of ['PRODUCT_DB', 'ORDER_DB']) {
      const host = env.get(`${prefix}_HOST`);
      if (host === undefined) continue;
      count('db-host');
      const { service, namespace } = serviceOfHost(host, ns);
      const cluster = mysqlClusters.find((c) => nameOf(c) === service && namespaceOf(c, defaultNs) === namespace);
      const port = Number(env.get(`${prefix}_PORT`) ?? 3306);
      if (!cluster) problems.push(`${where} ${prefix}_HOST: "${host}" is not the Service of an InnoDBCluster (platform has ${mysqlClusters.map((c) => nameOf(c)).join(', ') || 'none'})`);
      else if (port !== 3306) problems.push(`${where} ${prefix}_PORT: ${port} is not the router's read-write Service port 3306`);
      else dbUsers.push({ labels: podLabels, namespace: ns, where, cluster: service, port });
    }

    for (const e of arrayOf(container['env'])) {
      const from = obj(e['valueFrom']);
      for (const [refKind, store] of [['secretKeyRef', secrets], ['configMapKeyRef', configMaps]] as const) {
        const ref = obj(from[refKind]);
        if (!isObject(from[refKind])) continue;
        count('referenced-keys');
        const keys = store.get(`${ns}/${String(ref['name'])}`);
        const what = refKind === 'secretKeyRef' ? 'Secret' : 'ConfigMap';
        if (!keys) problems.push(`${where} env ${String(e['name'])}: ${what} "${String(ref['name'])}" is rendered by neither layer in namespace ${ns}`);
        else if (!keys.has(String(ref['key']))) problems.push(`${where} env ${String(e['name'])}: ${what} "${String(ref['name'])}" has no key "${String(ref['key'])}" (keys: ${[...keys].join(', ')})`);
      }
    }
    for (const e of arrayOf(container['envFrom'])) {
      for (const [refKind, store, what] of [['secretRef', secrets, 'Secret'], ['configMapRef', configMaps, 'ConfigMap']] as const) {
        if (!isObject(e[refKind])) continue;
        count('referenced-keys');
        const refName = String(obj(e[refKind])['name']);
        if (!store.has(`${ns}/${refName}`)) problems.push(`${where} envFrom: ${what} "${refName}" is rendered by neither layer in namespace ${ns}`);
      }
    }
  }

  // ------------------------------------------------------------------ scalers
  for (const s of scalersOf(app)) {
    const where = `${String(s.scaler['kind'])}/${nameOf(s.scaler)}`;
    const target = ofKind(app, s.targetKind).find((d) => nameOf(d) === s.targetName && namespaceOf(d, defaultNs) === namespaceOf(s.scaler, defaultNs));
    count('scaler-target');
    if (!target) {
      problems.push(`${where}: scaleTargetRef ${s.targetKind}/${s.targetName} is not in the app render`);
      continue;
    }
    const groups = new Set(containersOf([target]).map((c) => envValues(target, c.container).get('ORDER_CONSUMER_GROUP')).filter((g): g is string => !!g));
    const spec = obj(s.scaler['spec']);
    const lagSources: { topic?: string; group?: string; bootstrap?: string }[] =
      s.scaler['kind'] === 'ScaledObject'
        ? arrayOf(spec['triggers']).filter((t) => t['type'] === 'kafka').map((t) => {
            const m = obj(t['metadata']);
            return { topic: str(m['topic']), group: str(m['consumerGroup']), bootstrap: str(m['bootstrapServers']) };
          })
        : arrayOf(spec['metrics']).filter((m) => m['type'] === 'External').map((m) => {
            const labels = obj(obj(obj(obj(m['external'])['metric'])['selector'])['matchLabels']);
            return { topic: str(labels['topic']), group: str(labels['consumergroup']) };
          });
    for (const lag of lagSources) {
      if (lag.bootstrap !== undefined) checkBootstrap(`${where} trigger bootstrapServers`, lag.bootstrap);
      if (lag.topic !== undefined) checkTopic(`${where} lag topic`, lag.topic, s.max);
      else problems.push(`${where}: lag source names no topic (KEDA metadata.topic / metric label topic)`);
      count('consumer-group');
      if (lag.group === undefined) problems.push(`${where}: lag source names no consumer group`);
      else if (!groups.has(lag.group)) problems.push(`${where}: consumer group "${lag.group}" differs from ORDER_CONSUMER_GROUP of ${s.targetKind}/${s.targetName} (${[...groups].join(', ') || 'unset'})`);
    }
  }

  // ------------------------------------------------------------------ authentication
  // A process that verifies access tokens (any AUTH_* variable) needs an issuer, an audience and exactly one key
  // source the platform provides: AUTH_JWKS_URL resolved from a ConfigMap key, or AUTH_JWT_SECRET from a Secret
  // (whose existence the referenced-keys check above proves). It forwards the caller as an identity signed with
  // GATEWAY_IDENTITY_SECRET, so each upstream it calls must read that key from the same Secret key.
  const secretRefOf = (container: Record<string, unknown>, name: string): string | undefined => {
    const ref = obj(obj(arrayOf(container['env']).find((e) => e['name'] === name)?.['valueFrom'])['secretKeyRef']);
    return ref['name'] === undefined ? undefined : `${String(ref['name'])}/${String(ref['key'])}`;
  };
  const identityKeys = new Map<string, string[]>();
  for (const { workload, container, init } of containersOf(app)) {
    const where = `${String(workload['kind'])}/${nameOf(workload)} container ${String(container['name'])}`;
    const identity = secretRefOf(container, 'GATEWAY_IDENTITY_SECRET');
    if (identity) {
      count('identity-key');
      identityKeys.set(identity, [...(identityKeys.get(identity) ?? []), where]);
    }
    const names = arrayOf(container['env']).map((e) => String(e['name']));
    if (init || !names.some((n) => n.startsWith('AUTH_'))) continue;
    count('auth-keys');
    const env = envValues(workload, container);
    for (const name of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE']) {
      if (!env.get(name)) problems.push(`${where} ${name}: resolves to no value in either layer`);
    }
    const sources = [env.get('AUTH_JWKS_URL') ? 'AUTH_JWKS_URL' : undefined, secretRefOf(container, 'AUTH_JWT_SECRET') ? 'AUTH_JWT_SECRET' : undefined].filter(Boolean);
    if (sources.length !== 1) {
      problems.push(`${where}: ${sources.length === 0 ? 'no key source for access tokens (AUTH_JWKS_URL from the platform ConfigMap, or AUTH_JWT_SECRET from a Secret)' : 'both AUTH_JWKS_URL and AUTH_JWT_SECRET'}; the gateway refuses to start`);
    }
    if (!identity) {
      problems.push(`${where}: verifies access tokens but has no GATEWAY_IDENTITY_SECRET to sign the identity it forwards`);
      continue;
    }
    const ns = namespaceOf(workload, defaultNs);
    for (const variable of ['PRODUCT_SERVICE_URL', 'ORDER_SERVICE_URL']) {
      const url = env.get(variable);
      if (url === undefined) continue;
      count('identity-upstream');
      const { service, namespace } = serviceOfHost(new URL(url).hostname, ns);
      const svc = ofKind(app, 'Service').find((x) => nameOf(x) === service && namespaceOf(x, defaultNs) === namespace);
      const targets = svc ? ofKind(app, 'Deployment').filter((d) => namespaceOf(d, defaultNs) === namespace && selectorMatches({ matchLabels: obj(obj(svc['spec'])['selector']) }, labelsOf(obj(podTemplateOf(d))['metadata']))) : [];
      if (targets.length === 0) problems.push(`${where} ${variable}: "${url}" reaches no Deployment of the app render`);
      for (const target of targets) {
        for (const c of containersOf([target]).filter((x) => !x.init)) {
          const theirs = secretRefOf(c.container, 'GATEWAY_IDENTITY_SECRET');
          if (theirs !== identity) problems.push(`Deployment/${nameOf(target)} container ${String(c.container['name'])}: reads GATEWAY_IDENTITY_SECRET from ${theirs ?? 'nowhere'}, but ${nameOf(workload)} (${variable}) signs with ${identity}; every forwarded identity would be refused`);
        }
      }
    }
  }
  if (identityKeys.size > 1) {
    problems.push(`GATEWAY_IDENTITY_SECRET comes from ${identityKeys.size} different Secret keys: ${[...identityKeys].map(([ref, users]) => `${ref} (${users.join(', ')})`).join('; ')}`);
  }

  // ------------------------------------------------------------------ network paths
  for (const u of kafkaUsers) {
    count('network-kafka');
    const broker = { labels: { 'strimzi.io/cluster': u.kafka, 'strimzi.io/kind': 'Kafka', 'strimzi.io/name': `${u.kafka}-kafka`, 'strimzi.io/broker-role': 'true' }, namespace: u.namespace };
    if (!trafficAllowed(all, u, broker, u.port, 'TCP', defaultNs)) problems.push(`${u.where}: NetworkPolicies block TCP ${u.port} to Kafka ${u.kafka} broker pods`);
  }
  for (const u of dbUsers) {
    count('network-mysql');
    const router = { labels: { 'mysql.oracle.com/cluster': u.cluster, component: 'mysqlrouter', tier: 'mysql' }, namespace: u.namespace };
    for (const port of [3306, 6446]) {
      if (!trafficAllowed(all, u, router, port, 'TCP', defaultNs)) problems.push(`${u.where}: NetworkPolicies block TCP ${port} to MySQL router pods of ${u.cluster}`);
    }
  }
  for (const workload of ofKind(app, 'Deployment')) {
    count('network-dns');
    const pod = { labels: labelsOf(obj(podTemplateOf(workload))['metadata']), namespace: namespaceOf(workload, defaultNs) };
    if (!dnsAllowed(all, pod, defaultNs)) problems.push(`Deployment/${nameOf(workload)}: NetworkPolicies block DNS (UDP 53 to kube-dns); no Service name would resolve`);
  }

  // ------------------------------------------------------------------ tracing
  // A process with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans there. An in-cluster endpoint must be a Service of
  // one of the layers with that port, selecting pods that listen on its target port, and the NetworkPolicies of
  // both sides must let the spans through (the app's egress, the collector's ingress) on the pod port. A host
  // outside both layers (a collector elsewhere, a managed endpoint) needs the app's egress open on that port.
  for (const { workload, container, init } of containersOf(app)) {
    if (init) continue;
    const endpoint = envValues(workload, container).get('OTEL_EXPORTER_OTLP_ENDPOINT');
    if (endpoint === undefined || endpoint === '') continue;
    count('tracing-endpoint');
    const where = `${String(workload['kind'])}/${nameOf(workload)} container ${String(container['name'])} OTEL_EXPORTER_OTLP_ENDPOINT`;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      problems.push(`${where}: "${endpoint}" is not a URL`);
      continue;
    }
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const ns = namespaceOf(workload, defaultNs);
    const from = { labels: labelsOf(obj(podTemplateOf(workload))['metadata']), namespace: ns };
    const { service, namespace } = serviceOfHost(url.hostname, ns);
    const svc = ofKind(all, 'Service').find((x) => nameOf(x) === service && namespaceOf(x, defaultNs) === namespace);
    if (!svc) {
      if (namespace !== '?' && namespace === ns) {
        problems.push(`${where}: "${endpoint}" names Service ${service} in namespace ${namespace}, which neither layer renders`);
      } else if (!trafficAllowed(all, from, { labels: {}, namespace: namespace === '?' ? '(outside the cluster)' : namespace }, port, 'TCP', defaultNs)) {
        problems.push(`${where}: NetworkPolicies block TCP ${port} to the collector at ${url.host}`);
      }
      continue;
    }
    const svcPort = arrayOf(obj(svc['spec'])['ports']).find((p) => Number(p['port']) === port);
    if (!svcPort) {
      problems.push(`${where}: Service ${service} has no port ${port} (ports: ${arrayOf(obj(svc['spec'])['ports']).map((p) => String(p['port'])).join(', ')})`);
      continue;
    }
    const backends = ofKind(all, 'Deployment').filter((d) => namespaceOf(d, defaultNs) === namespace && selectorMatches({ matchLabels: obj(obj(svc['spec'])['selector']) }, labelsOf(obj(podTemplateOf(d))['metadata'])));
    if (backends.length === 0) problems.push(`${where}: Service ${service} selects no Deployment of either layer`);
    for (const backend of backends) {
      const target = svcPort['targetPort'] ?? port;
      const podPorts = containersOf([backend]).filter((c) => !c.init).flatMap((c) => arrayOf(c.container['ports']));
      const podPort = typeof target === 'number' ? target : Number(podPorts.find((p) => p['name'] === target)?.['containerPort']);
      if (!podPorts.some((p) => Number(p['containerPort']) === podPort)) {
        problems.push(`${where}: Service ${service} port ${port} targets ${String(target)}, which no container of Deployment/${nameOf(backend)} declares`);
        continue;
      }
      const to = { labels: labelsOf(obj(podTemplateOf(backend))['metadata']), namespace };
      if (!trafficAllowed(all, from, to, podPort, 'TCP', defaultNs)) problems.push(`${where}: NetworkPolicies block TCP ${podPort} to the pods of Deployment/${nameOf(backend)}`);
    }
  }

  return { checked, problems };
}

/** Deep merge of Helm values (maps merge, everything else replaces), as `helm -f a -f b` does. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeValues(base[k], v);
  return out;
}

/**
 * The consumer autoscaling the app renders must be what the platform values were set up for: the same
 * mode and ceiling as `app.orderConsumer`, KEDA installed for a ScaledObject, prometheus-adapter for an
 * External-metric HPA (and not KEDA too: both would serve external.metrics.k8s.io).
 */
export function checkAutoscalingAgreement(app: Manifest[], values: unknown, consumer = 'order-consumer'): string[] {
  const v = obj(values);
  const declared = obj(obj(v['app'])['orderConsumer']);
  const enabled = (key: string): boolean => obj(v[key])['enabled'] === true;
  const scalers = scalersOf(app).filter((s) => s.targetName === consumer);
  const external = scalers.some((s) => s.scaler['kind'] === 'HorizontalPodAutoscaler' && arrayOf(obj(s.scaler['spec'])['metrics']).some((m) => m['type'] === 'External'));
  const mode = scalers.some((s) => s.scaler['kind'] === 'ScaledObject') ? 'keda' : external ? 'hpa-external' : 'none';
  const problems: string[] = [];
  if (declared['autoscaling'] !== mode) problems.push(`app renders consumer autoscaling "${mode}", platform values app.orderConsumer.autoscaling is "${String(declared['autoscaling'])}"`);
  const max = scalers[0]?.max;
  if (mode !== 'none' && declared['maxReplicas'] !== max) problems.push(`app scales ${consumer} to ${String(max)}, platform values app.orderConsumer.maxReplicas is ${String(declared['maxReplicas'])}`);
  if (mode === 'keda' && !enabled('keda')) problems.push('app renders a ScaledObject but the platform values do not enable keda');
  if (mode === 'hpa-external' && !enabled('prometheus-adapter')) problems.push('app renders an External-metric HPA but the platform values do not enable prometheus-adapter');
  if (enabled('keda') && enabled('prometheus-adapter')) problems.push('platform values enable both keda and prometheus-adapter: both serve external.metrics.k8s.io');
  return problems;
}
