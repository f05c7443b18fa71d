import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { GatewayIngressSource } from '../environments';
import { HTTP_PORT_NAME, kafka, mysql } from '../platform-contract';
import { APP_PODS_SELECTOR, selectorLabels } from './labels';

/** What one app component may receive and send, on top of the shared default deny. */
export interface ComponentTraffic {
  /** Component (app.kubernetes.io/name) the policy applies to. */
  readonly name: string;
  /** Components allowed to call this one on its `http` port. @default - none */
  readonly callers?: readonly string[];
  /** Components (name → port) this one calls. @default - none */
  readonly calls?: Readonly<Record<string, number>>;
  /** Needs the Kafka brokers and the MySQL router. @default false */
  readonly usesKafkaAndMysql?: boolean;
}

export interface AppNetworkPoliciesProps {
  readonly components: readonly ComponentTraffic[];
  /** Component behind the Ingress and who may reach it. */
  readonly edge: {
    readonly name: string;
    readonly from: GatewayIngressSource;
    /** Pods in the app's namespace that may call the edge directly (k6 runners). @default - none */
    readonly loadTestPods?: Readonly<Record<string, string>>;
  };
  /** Namespaces Prometheus may scrape from. */
  readonly monitoringNamespaces: readonly string[];
  /** @default { 'app.kubernetes.io/name': 'prometheus' } */
  readonly prometheusPodLabels?: Readonly<Record<string, string>>;
  /**
   * Where every app pod sends its spans: `port` on the pods with `podLabels` in the app's namespace, or on any
   * destination when no labels are given (a collector outside the namespace or the cluster). @default - no tracing egress
   */
  readonly traceCollector?: { readonly port: number; readonly podLabels?: Readonly<Record<string, string>> };
}

const tcp = (port: number | string): k8s.NetworkPolicyPort => ({
  protocol: 'TCP',
  port: typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port),
});

/**
 * Default deny (ingress and egress) for the app pods, then exactly the flows the architecture needs:
 * DNS, Prometheus scrapes, edge traffic to the gateway, service-to-service calls, Kafka and MySQL, and spans to the
 * trace collector when tracing is on.
 */
export class AppNetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: AppNetworkPoliciesProps) {
    super(scope, id);
    const names = new Set(props.components.map(c => c.name));
    for (const c of props.components) {
      for (const other of [...(c.callers ?? []), ...Object.keys(c.calls ?? {})]) {
        if (!names.has(other)) throw new Error(`network policy ${c.name}: peer "${other}" is not one of the components (${[...names].join(', ')})`);
      }
    }
    if (!names.has(props.edge.name)) throw new Error(`network policy edge.name="${props.edge.name}": not one of the components`);

    const policy = (id: string, name: string, podSelector: Record<string, string>, spec: Omit<k8s.NetworkPolicySpec, 'podSelector' | 'policyTypes'>, policyTypes: string[]) =>
      new k8s.KubeNetworkPolicy(this, id, {
        metadata: { name },
        spec: { podSelector: { matchLabels: podSelector }, policyTypes, ...spec },
      });

    policy('default-deny', 'eshop-app-default-deny', APP_PODS_SELECTOR, {}, ['Ingress', 'Egress']);

    policy('dns', 'eshop-app-allow-dns', APP_PODS_SELECTOR, {
      egress: [{
        to: [{
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        }],
        ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, tcp(53)],
      }],
    }, ['Egress']);

    if (props.traceCollector) {
      const { port, podLabels } = props.traceCollector;
      policy('tracing', 'eshop-app-allow-tracing', APP_PODS_SELECTOR, {
        egress: [{
          ...(podLabels ? { to: [{ podSelector: { matchLabels: { ...podLabels } } }] } : {}),
          ports: [tcp(port)],
        }],
      }, ['Egress']);
    }

    policy('prometheus', 'eshop-app-allow-prometheus', APP_PODS_SELECTOR, {
      ingress: [{
        from: [{
          namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...props.monitoringNamespaces] }] },
          podSelector: { matchLabels: { ...(props.prometheusPodLabels ?? { 'app.kubernetes.io/name': 'prometheus' }) } },
        }],
        ports: [tcp(HTTP_PORT_NAME)],
      }],
    }, ['Ingress']);

    for (const c of props.components) {
      const ingress: k8s.NetworkPolicyIngressRule[] = [];
      if (c.name === props.edge.name) {
        const from = props.edge.from;
        ingress.push(from.kind === 'any'
          ? { ports: [tcp(HTTP_PORT_NAME)] }
          : { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { ...from.podLabels } } }], ports: [tcp(HTTP_PORT_NAME)] });
        // Explicit even where `any` admits them already: the load tests must keep working if the edge is narrowed.
        if (props.edge.loadTestPods) ingress.push({ from: [{ podSelector: { matchLabels: { ...props.edge.loadTestPods } } }], ports: [tcp(HTTP_PORT_NAME)] });
      }
      if (c.callers && c.callers.length > 0) {
        ingress.push({ from: c.callers.map(caller => ({ podSelector: { matchLabels: selectorLabels(caller) } })), ports: [tcp(HTTP_PORT_NAME)] });
      }
      const egress: k8s.NetworkPolicyEgressRule[] = Object.entries(c.calls ?? {}).map(([callee, port]) => ({
        to: [{ podSelector: { matchLabels: selectorLabels(callee) } }],
        ports: [tcp(port)],
      }));
      if (c.usesKafkaAndMysql) {
        egress.push(
          { to: [{ podSelector: { matchLabels: { ...kafka.brokerPodLabels } } }], ports: [tcp(kafka.listenerPort)] },
          { to: [{ podSelector: { matchLabels: { ...mysql.routerPodLabels } } }], ports: mysql.routerPorts.map(p => tcp(p)) },
        );
      }
      const types = [...(ingress.length > 0 ? ['Ingress'] : []), ...(egress.length > 0 ? ['Egress'] : [])];
      if (types.length === 0) continue;
      policy(`allow-${c.name}`, `${c.name}`, selectorLabels(c.name), {
        ...(ingress.length > 0 ? { ingress } : {}),
        ...(egress.length > 0 ? { egress } : {}),
      }, types);
    }
  }
}
