import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ConsumerLagAutoscaler, CpuAutoscaler } from './constructs/autoscaling';
import { GatewayIngress } from './constructs/gateway-ingress';
import { componentLabels, LOADTEST_POD_LABELS } from './constructs/labels';
import { Microservice } from './constructs/microservice';
import { AppNetworkPolicies } from './constructs/network-policies';
import { ApiWorkloadSettings, EnvironmentConfig, otlpPort, validateConfig } from './environments';
import {
  auth, imageArgs, kafka, kafkaBootstrapServers, mysql, mysqlHost, PART_OF, secrets, workloads,
} from './platform-contract';

export interface EshopAppChartProps {
  readonly config: EnvironmentConfig;
}

/** The application layer of one environment: four workloads, their autoscalers, network policies and the Ingress. */
export class EshopAppChart extends Chart {
  constructor(scope: Construct, id: string, props: EshopAppChartProps) {
    const { config } = props;
    validateConfig(config);
    super(scope, id, {
      namespace: config.namespace,
      labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': 'cdk8s' },
      disableResourceNameHashes: true,
    });

    const ns = config.namespace;
    const image = (repository: string) => `${config.image.registry ? `${config.image.registry}/` : ''}${repository}:${config.image.tag}`;
    const serviceUrl = (w: { name: string; port: number }) => `http://${w.name}.${ns}.svc:${w.port}`;
    // Tracing (docs/tracing.md): the OTEL_* variables the services read, and resource attributes that say which
    // pod, node and release a span came from. Off: none of them, and the services load no tracing code.
    const tracing = config.tracing;
    const common = {
      LOG_LEVEL: config.logLevel,
      SHUTDOWN_DELAY_MS: String(config.shutdown.delayMs),
      SHUTDOWN_TIMEOUT_MS: String(config.shutdown.timeoutMs),
      ...(tracing.enabled
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: tracing.otlpEndpoint,
            OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
            OTEL_TRACES_SAMPLER_ARG: String(tracing.sampleRatio),
          }
        : {}),
    };
    // $(…) is expanded by the kubelet from the downward-API variables, so these stay out of the ConfigMap.
    const tracingEnv = (deployment: string) => (tracing.enabled
      ? {
          podFieldEnv: { K8S_POD_NAME: 'metadata.name', K8S_NAMESPACE_NAME: 'metadata.namespace', K8S_NODE_NAME: 'spec.nodeName' },
          expandedEnv: {
            OTEL_RESOURCE_ATTRIBUTES: [
              `service.namespace=${PART_OF}`,
              `service.version=${config.image.tag}`,
              `deployment.environment.name=${config.name}`,
              `k8s.deployment.name=${deployment}`,
              'k8s.namespace.name=$(K8S_NAMESPACE_NAME)',
              'k8s.pod.name=$(K8S_POD_NAME)',
              'k8s.node.name=$(K8S_NODE_NAME)',
            ].join(','),
          },
        }
      : {});
    const shared = {
      imagePullPolicy: config.image.pullPolicy,
      shutdown: config.shutdown,
      topologySpread: config.topologySpread,
      serviceAccountAnnotations: config.serviceAccountAnnotations,
      version: config.image.tag,
    };
    const db = (prefix: 'PRODUCT' | 'ORDER', database: string, poolMax: number | undefined) => ({
      [`${prefix}_DB_HOST`]: mysqlHost(ns),
      [`${prefix}_DB_PORT`]: String(mysql.servicePort),
      [`${prefix}_DB_NAME`]: database,
      ...(poolMax === undefined ? {} : { [`${prefix}_DB_POOL_MAX`]: String(poolMax) }),
    });
    const dbSecret = (prefix: 'PRODUCT' | 'ORDER', secret: { name: string; usernameKey: string; passwordKey: string }) => ({
      [`${prefix}_DB_USER`]: { secretName: secret.name, key: secret.usernameKey },
      [`${prefix}_DB_PASSWORD`]: { secretName: secret.name, key: secret.passwordKey },
    });
    // The key of the gateway-signed identity header: the gateway signs with it, product and order API verify.
    const identitySecret = { GATEWAY_IDENTITY_SECRET: { secretName: auth.identitySecret.name, key: auth.identitySecret.key } };
    const authSetting = (key: string) => ({ configMapName: auth.settings.name, key });
    const replicasOf = (s: ApiWorkloadSettings) => (s.scaling.hpa ? {} : { replicas: s.scaling.replicas });
    const brokers = kafkaBootstrapServers(ns);

    const gateway = new Microservice(this, 'gateway', {
      ...shared,
      ...tracingEnv(workloads.gateway.name),
      name: workloads.gateway.name,
      role: workloads.gateway.role,
      port: workloads.gateway.port,
      image: image(workloads.gateway.image),
      env: {
        API_GATEWAY_PORT: String(workloads.gateway.port),
        PRODUCT_SERVICE_URL: serviceUrl(workloads.product),
        ORDER_SERVICE_URL: serviceUrl(workloads.orderApi),
        // An Ingress controller (traefik / ALB) always sits in front.
        GATEWAY_TRUST_FORWARDED_HEADERS: 'true',
        RATE_LIMIT_WINDOW_MS: String(config.rateLimits.windowMs),
        RATE_LIMIT_PER_IP: String(config.rateLimits.perIp),
        RATE_LIMIT_PER_IDENTITY: String(config.rateLimits.perIdentity),
        ...common,
      },
      // What tokens are checked against comes from the platform (chart values auth.*), so the two layers cannot disagree.
      configMapEnv: {
        AUTH_JWT_ISSUER: authSetting(auth.settings.issuerKey),
        AUTH_JWT_AUDIENCE: authSetting(auth.settings.audienceKey),
        AUTH_ROLES_CLAIM: authSetting(auth.settings.rolesClaimKey),
        ...(config.auth.keys === 'jwks' ? { AUTH_JWKS_URL: authSetting(auth.settings.jwksUrlKey) } : {}),
      },
      secretEnv: {
        ...identitySecret,
        ...(config.auth.keys === 'local-issuer'
          ? { AUTH_JWT_SECRET: { secretName: auth.localIssuerSecret.name, key: auth.localIssuerSecret.key } }
          : {}),
      },
      resources: config.gateway.resources,
      ...replicasOf(config.gateway),
      // /readyz aggregates the upstreams: one slow upstream must not take the whole edge out of rotation.
      readinessPath: '/healthz',
    });

    const product = new Microservice(this, 'product', {
      ...shared,
      ...tracingEnv(workloads.product.name),
      name: workloads.product.name,
      role: workloads.product.role,
      port: workloads.product.port,
      image: image(workloads.product.image),
      env: {
        PRODUCT_SERVICE_PORT: String(workloads.product.port),
        ...db('PRODUCT', mysql.databases.product, config.product.dbPoolMax),
        KAFKA_BROKERS: brokers,
        KAFKA_PRODUCT_TOPIC: kafka.topics.productEvents.name,
        ...common,
      },
      secretEnv: { ...dbSecret('PRODUCT', secrets.productDb), ...identitySecret },
      migration: { args: imageArgs.migrate, resources: config.migrationResources },
      resources: config.product.resources,
      ...replicasOf(config.product),
    });

    const productClient = {
      PRODUCT_SERVICE_URL: serviceUrl(workloads.product),
    };
    const orderApi = new Microservice(this, 'order-api', {
      ...shared,
      ...tracingEnv(workloads.orderApi.name),
      name: workloads.orderApi.name,
      role: workloads.orderApi.role,
      port: workloads.orderApi.port,
      image: image(workloads.orderApi.image),
      env: {
        ORDER_SERVICE_PORT: String(workloads.orderApi.port),
        ...db('ORDER', mysql.databases.order, config.orderApi.dbPoolMax),
        KAFKA_BROKERS: brokers,
        KAFKA_ORDER_TOPIC: kafka.topics.orderEvents.name,
        ...productClient,
        ...common,
      },
      secretEnv: { ...dbSecret('ORDER', secrets.orderDb), ...identitySecret },
      migration: { args: imageArgs.migrate, resources: config.migrationResources },
      resources: config.orderApi.resources,
      ...replicasOf(config.orderApi),
    });

    const scaling = config.orderConsumer.autoscaling;
    const consumer = new Microservice(this, 'order-consumer', {
      ...shared,
      ...tracingEnv(workloads.orderConsumer.name),
      name: workloads.orderConsumer.name,
      role: workloads.orderConsumer.role,
      port: workloads.orderConsumer.port,
      image: image(workloads.orderConsumer.image),
      args: imageArgs.orderConsumer,
      env: {
        ORDER_CONSUMER_PORT: String(workloads.orderConsumer.port),
        ...db('ORDER', mysql.databases.order, config.orderConsumer.dbPoolMax),
        KAFKA_BROKERS: brokers,
        KAFKA_ORDER_TOPIC: kafka.topics.orderEvents.name,
        ORDER_DLQ_TOPIC: kafka.topics.orderEventsDlq.name,
        ORDER_CONSUMER_GROUP: kafka.orderConsumerGroup,
        ...productClient,
        ...common,
      },
      secretEnv: dbSecret('ORDER', secrets.orderDb),
      resources: config.orderConsumer.resources,
      // An autoscaler owns spec.replicas unless the mode is none.
      ...(scaling.mode === 'none' ? { replicas: scaling.replicas } : {}),
    });

    for (const [svc, settings] of [[gateway, config.gateway], [product, config.product], [orderApi, config.orderApi]] as const) {
      if (settings.scaling.hpa) {
        new CpuAutoscaler(this, `${svc.name}-hpa`, {
          deploymentName: svc.name,
          labels: componentLabels(svc.name, 'api'),
          ...settings.scaling.hpa,
        });
      }
    }

    if (scaling.mode !== 'none') {
      new ConsumerLagAutoscaler(this, 'order-consumer-autoscaler', {
        mode: scaling.mode,
        deploymentName: consumer.name,
        labels: componentLabels(consumer.name, workloads.orderConsumer.role),
        bootstrapServers: brokers,
        consumerGroup: kafka.orderConsumerGroup,
        topic: kafka.topics.orderEvents.name,
        partitions: kafka.topics.orderEvents.partitions,
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        lagThreshold: scaling.lagThreshold,
        activationLagThreshold: scaling.activationLagThreshold,
        offsetResetPolicy: scaling.offsetResetPolicy,
        pollingIntervalSeconds: scaling.pollingIntervalSeconds,
        cooldownPeriodSeconds: scaling.cooldownPeriodSeconds,
      });
    }

    new GatewayIngress(this, 'ingress', {
      serviceName: gateway.name,
      labels: componentLabels(gateway.name, workloads.gateway.role),
      className: config.ingress.className,
      ...(config.ingress.host ? { host: config.ingress.host } : {}),
      annotations: config.ingress.annotations,
    });

    new AppNetworkPolicies(this, 'network-policies', {
      edge: { name: gateway.name, from: config.gatewayIngressFrom, loadTestPods: LOADTEST_POD_LABELS },
      monitoringNamespaces: config.monitoringNamespaces,
      ...(tracing.enabled
        ? { traceCollector: { port: otlpPort(tracing.otlpEndpoint), ...(tracing.collectorPods ? { podLabels: tracing.collectorPods } : {}) } }
        : {}),
      components: [
        { name: gateway.name, calls: { [product.name]: product.port, [orderApi.name]: orderApi.port } },
        { name: product.name, callers: [gateway.name, orderApi.name, consumer.name], usesKafkaAndMysql: true },
        { name: orderApi.name, callers: [gateway.name], calls: { [product.name]: product.port }, usesKafkaAndMysql: true },
        { name: consumer.name, calls: { [product.name]: product.port }, usesKafkaAndMysql: true },
      ],
    });
  }
}
