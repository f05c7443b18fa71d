import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { HTTP_PORT_NAME } from '../platform-contract';

export interface GatewayIngressProps {
  /** Service the Ingress routes to (port `http`). */
  readonly serviceName: string;
  readonly labels: Record<string, string>;
  /** IngressClass: `traefik` on kind, `alb` on EKS. */
  readonly className: string;
  /** @default - any host */
  readonly host?: string;
  /** Controller-specific settings (ALB scheme, target type, ...). @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The single public entry point: every path goes to the gateway, which does the routing. */
export class GatewayIngress extends Construct {
  constructor(scope: Construct, id: string, props: GatewayIngressProps) {
    super(scope, id);
    const annotations = props.annotations ?? {};
    new k8s.KubeIngress(this, 'ingress', {
      metadata: {
        name: props.serviceName,
        labels: props.labels,
        ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      },
      spec: {
        ingressClassName: props.className,
        rules: [{
          ...(props.host ? { host: props.host } : {}),
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: props.serviceName, port: { name: HTTP_PORT_NAME } } } }],
          },
        }],
      },
    });
  }
}
