{{/*
Chart name, truncated to 63 chars (a label value limit).
*/}}
{{- define "eshop-platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-qualified name for objects without a contract-fixed name.
*/}}
{{- define "eshop-platform.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "eshop-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object. part-of is eshop-platform, NOT eshop: NetworkPolicies grant the app pods
(part-of=eshop) access to Kafka and MySQL, and operator-created pods inherit these labels.
*/}}
{{- define "eshop-platform.labels" -}}
helm.sh/chart: {{ include "eshop-platform.chart" . }}
{{ include "eshop-platform.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: eshop-platform
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable across upgrades (no chart version).
*/}}
{{- define "eshop-platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eshop-platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* ---------------------------------------------------------------- Kafka */}}

{{/* Replication factor of eshop and internal topics: min(3, brokers). */}}
{{- define "eshop-platform.kafka.replicationFactor" -}}
{{- min 3 (int .Values.kafka.brokers.replicas) }}
{{- end }}

{{/* min.insync.replicas: 2 when the factor is 3 (one broker may be down), else 1. */}}
{{- define "eshop-platform.kafka.minInsync" -}}
{{- if ge (int (include "eshop-platform.kafka.replicationFactor" .)) 3 }}2{{ else }}1{{ end }}
{{- end }}

{{/* Strimzi node-pool storage from a storage value (dict "storage" . "root" $). */}}
{{- define "eshop-platform.kafka.storage" -}}
{{- $s := .storage -}}
type: {{ $s.type }}
{{- if eq $s.type "persistent-claim" }}
size: {{ $s.size }}
{{- with (default .root.Values.storageClass $s.class) }}
class: {{ . }}
{{- end }}
deleteClaim: {{ $s.deleteClaim | default false }}
{{- else if $s.sizeLimit }}
sizeLimit: {{ $s.sizeLimit }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints for a pod set (dict "root" $ "labels" (dict ...)). */}}
{{- define "eshop-platform.zoneSpread" -}}
{{- $z := .root.Values.zoneSpreading -}}
{{- if $z.enabled -}}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: {{ $z.topologyKey }}
    whenUnsatisfiable: {{ $z.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- toYaml .labels | nindent 8 }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- MySQL */}}

{{- define "eshop-platform.mysql.rootSecretName" -}}
{{- default "eshop-mysql-root" .Values.mysql.rootSecret.existingSecret }}
{{- end }}

{{- define "eshop-platform.mysql.productSecretName" -}}
{{- default "eshop-product-db" .Values.mysql.productDb.existingSecret }}
{{- end }}

{{- define "eshop-platform.mysql.orderSecretName" -}}
{{- default "eshop-order-db" .Values.mysql.orderDb.existingSecret }}
{{- end }}

{{/*
A generated secret value: the one already stored in the cluster (base64) when the Secret exists, so
upgrades never rotate it, else a new random one of "length" characters (default 32).
(dict "root" $ "secret" NAME "key" KEY ["length" N])
`helm template` has no cluster: it always renders a fresh random value.
*/}}
{{- define "eshop-platform.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum (int (default 32 .length)) | b64enc }}
{{- end }}
{{- end }}

{{/* ----------------------------------------------------------------- Auth */}}

{{- define "eshop-platform.auth.identitySecretName" -}}
{{- default "eshop-gateway-identity" .Values.auth.gatewayIdentity.existingSecret }}
{{- end }}

{{- define "eshop-platform.auth.localSecretName" -}}
{{- default "eshop-auth-local" .Values.auth.localIssuer.existingSecret }}
{{- end }}

{{/* --------------------------------------------------------- validation */}}

{{/*
Fail rendering with a fix-it message when values cannot work together (bitnami-style). Schema checks
types and ranges; these rules relate several values.
*/}}
{{- define "eshop-platform.validateValues" -}}
{{- $messages := list -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.partitions" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.kafkaNodes" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.mysql" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.appSecrets" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.auth" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.existingSecretKeys" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.externalMetrics" . | trim) -}}
{{- $messages = append $messages (include "eshop-platform.validateValues.alerts" . | trim) -}}
{{- $messages = without $messages "" -}}
{{- if $messages }}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n\n" $messages) | fail -}}
{{- end }}
{{- end }}

{{- define "eshop-platform.validateValues.partitions" -}}
{{- $max := int .Values.app.orderConsumer.maxReplicas -}}
{{- range $key, $topic := dict "product-events" .Values.kafka.topics.productEvents "order-events" .Values.kafka.topics.orderEvents }}
{{- if lt (int $topic.partitions) $max }}
eshop-platform: topic {{ $key }} has {{ $topic.partitions }} partitions but app.orderConsumer.maxReplicas is {{ $max }};
    consumers beyond the partition count sit idle. Raise the topic's partitions (kafka.topics.*.partitions)
    to at least {{ $max }} or lower app.orderConsumer.maxReplicas (and the app layer's maxReplicas).
{{- end }}
{{- end }}
{{- end }}

{{- define "eshop-platform.validateValues.kafkaNodes" -}}
{{- if and (eq .Values.kafka.topology "dedicated") (eq (int .Values.kafka.controllers.replicas) 2) }}
eshop-platform: kafka.controllers.replicas=2 cannot survive losing either controller (a KRaft quorum needs a
    majority). Use 1 (development) or 3.
{{- end }}
{{- if and (eq .Values.kafka.topology "dual-role") (eq (int .Values.kafka.brokers.replicas) 2) }}
eshop-platform: kafka.brokers.replicas=2 with topology=dual-role gives a 2-node KRaft quorum that cannot
    survive losing a node. Use 1 (development) or 3.
{{- end }}
{{- end }}

{{- define "eshop-platform.validateValues.mysql" -}}
{{- if lt (int .Values.mysql.cluster.instances) 1 }}
eshop-platform: mysql.cluster.instances must be at least 1 (3 for a highly available cluster).
{{- end }}
{{- if eq (int .Values.mysql.cluster.instances) 2 }}
eshop-platform: mysql.cluster.instances=2 loses write quorum when either instance fails (Group Replication
    needs a majority). Use 1 (development) or 3.
{{- end }}
{{- if lt (int .Values.mysql.cluster.router.instances) 1 }}
eshop-platform: mysql.cluster.router.instances must be at least 1: Service eshop-mysql points at the routers.
{{- end }}
{{- $m := .Values.mysql.cluster.metrics }}
{{- if and $m.monitor (not $m.enabled) }}
eshop-platform: mysql.cluster.metrics.monitor=true without mysql.cluster.metrics.enabled: the operator only
    creates the ServiceMonitor for its exporter sidecar. Set mysql.cluster.metrics.enabled=true too, or
    monitor=false.
{{- end }}
{{- if and $m.enabled $m.monitor (not (index .Values "kube-prometheus-stack").enabled) (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) }}
eshop-platform: mysql.cluster.metrics.monitor makes the MySQL operator create a ServiceMonitor, which needs
    the prometheus-operator CRDs: set kube-prometheus-stack.enabled=true, or install prometheus-operator
    first (offline rendering: helm template --api-versions monitoring.coreos.com/v1/ServiceMonitor), or set
    mysql.cluster.metrics.monitor=false and scrape port 9104 of Service eshop-mysql-instances otherwise.
{{- end }}
{{- end }}

{{/* The app layer reads the contract names; a supplied Secret must carry that name. */}}
{{- define "eshop-platform.validateValues.appSecrets" -}}
{{- $supplied := dict
  "mysql.productDb" (list .Values.mysql.productDb.existingSecret "eshop-product-db")
  "mysql.orderDb" (list .Values.mysql.orderDb.existingSecret "eshop-order-db")
  "auth.gatewayIdentity" (list .Values.auth.gatewayIdentity.existingSecret "eshop-gateway-identity")
  "auth.localIssuer" (list .Values.auth.localIssuer.existingSecret "eshop-auth-local") }}
{{- range $key, $pair := $supplied }}
{{- $got := index $pair 0 }}
{{- $want := index $pair 1 }}
{{- if and $got (ne $got $want) }}
eshop-platform: {{ $key }}.existingSecret={{ $got }}, but the application layer reads Secret {{ $want }}.
    Name the supplied Secret {{ $want }} (and set existingSecret to it), or leave existingSecret empty
    to let this chart generate it.
{{- end }}
{{- end }}
{{- end }}

{{/*
Authentication cannot be turned off: the gateway needs exactly one source of verification keys (it refuses
to start with none or both), and tokens are only checked against a known issuer.
*/}}
{{- define "eshop-platform.validateValues.auth" -}}
{{- $a := .Values.auth }}
{{- if and $a.jwksUrl $a.localIssuer.enabled }}
eshop-platform: auth.jwksUrl is set and auth.localIssuer.enabled=true; the gateway takes its keys from exactly
    one of them. Production: keep jwksUrl and set auth.localIssuer.enabled=false. Development cluster: unset
    jwksUrl.
{{- else if not (or $a.jwksUrl $a.localIssuer.enabled) }}
eshop-platform: no way to verify access tokens: set auth.jwksUrl to your identity provider's JWKS endpoint
    (e.g. --set auth.jwksUrl=https://cognito-idp.<region>.amazonaws.com/<user pool id>/.well-known/jwks.json),
    or set auth.localIssuer.enabled=true on a development cluster. Authentication cannot be turned off.
{{- end }}
{{- if not $a.issuer }}
eshop-platform: auth.issuer is empty: set it to the `iss` your identity provider puts into access tokens
    (e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>), or eshop-local with the local issuer.
{{- end }}
{{- end }}

{{/*
A supplied Secret that exists must have the keys the consumers read. Only checkable against a cluster
(install/upgrade, --dry-run=server); `helm template` cannot look Secrets up.
*/}}
{{- define "eshop-platform.validateValues.existingSecretKeys" -}}
{{- $checks := list
  (dict "value" "mysql.rootSecret.existingSecret" "name" .Values.mysql.rootSecret.existingSecret "keys" (list "rootUser" "rootHost" "rootPassword"))
  (dict "value" "mysql.productDb.existingSecret" "name" .Values.mysql.productDb.existingSecret "keys" (list "username" "password"))
  (dict "value" "mysql.orderDb.existingSecret" "name" .Values.mysql.orderDb.existingSecret "keys" (list "username" "password"))
  (dict "value" "auth.gatewayIdentity.existingSecret" "name" .Values.auth.gatewayIdentity.existingSecret "keys" (list "secret"))
  (dict "value" "auth.localIssuer.existingSecret" "name" (ternary .Values.auth.localIssuer.existingSecret "" .Values.auth.localIssuer.enabled) "keys" (list "jwt-secret")) }}
{{- range $c := $checks }}
{{- if $c.name }}
{{- $secret := lookup "v1" "Secret" $.Release.Namespace $c.name }}
{{- if $secret }}
{{- $data := $secret.data | default dict }}
{{- range $k := $c.keys }}
{{- if not (hasKey $data $k) }}
eshop-platform: Secret {{ $.Release.Namespace }}/{{ $c.name }} ({{ $c.value }}) has no key {{ $k }}; it needs {{ join ", " $c.keys }}.
    Add it: kubectl -n {{ $.Release.Namespace }} patch secret {{ $c.name }} --type merge -p '{"stringData":{"{{ $k }}":"..."}}'
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "eshop-platform.validateValues.externalMetrics" -}}
{{- $adapter := index .Values "prometheus-adapter" }}
{{- if and .Values.keda.enabled $adapter.enabled }}
eshop-platform: keda.enabled and prometheus-adapter.enabled are both true; both register the APIService
    v1beta1.external.metrics.k8s.io and only one can serve it. For app.orderConsumer.autoscaling=keda
    disable prometheus-adapter; for hpa-external disable keda.
{{- end }}
{{- if and (eq .Values.app.orderConsumer.autoscaling "hpa-external") (not $adapter.enabled) }}
eshop-platform: app.orderConsumer.autoscaling=hpa-external needs an external-metrics server for
    kafka_consumergroup_lag: set prometheus-adapter.enabled=true (and kafka.metrics.podMonitor.enabled=true
    so Prometheus scrapes the Kafka exporter).
{{- end }}
{{- if and .Values.kafka.metrics.podMonitor.enabled (not (index .Values "kube-prometheus-stack").enabled) (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PodMonitor")) }}
eshop-platform: kafka.metrics.podMonitor.enabled needs the prometheus-operator CRDs: set
    kube-prometheus-stack.enabled=true, or install prometheus-operator first (offline rendering:
    helm template --api-versions monitoring.coreos.com/v1/PodMonitor).
{{- end }}
{{- if and (eq .Values.app.orderConsumer.autoscaling "hpa-external") (not .Values.kafka.metrics.podMonitor.enabled) }}
eshop-platform: app.orderConsumer.autoscaling=hpa-external reads the lag from Prometheus: set
    kafka.metrics.podMonitor.enabled=true so the Kafka exporter is scraped.
{{- end }}
{{- end }}

{{- define "eshop-platform.validateValues.alerts" -}}
{{- if and .Values.alerts.enabled (not (index .Values "kube-prometheus-stack").enabled) (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule")) }}
eshop-platform: alerts.enabled needs the prometheus-operator CRDs (PrometheusRule): set
    kube-prometheus-stack.enabled=true, or install prometheus-operator first (offline rendering:
    helm template --api-versions monitoring.coreos.com/v1/PrometheusRule).
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- Jaeger */}}

{{/*
Selector labels of the Jaeger pod; the app layer's NetworkPolicy selects these exact labels (cdk8s
platform-contract.ts jaeger.podLabels).
*/}}
{{- define "eshop-platform.jaeger.selectorLabels" -}}
app.kubernetes.io/name: jaeger
app.kubernetes.io/part-of: eshop-platform
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "eshop-platform.jaeger.labels" -}}
helm.sh/chart: {{ include "eshop-platform.chart" . }}
{{ include "eshop-platform.jaeger.selectorLabels" . }}
app.kubernetes.io/component: tracing
app.kubernetes.io/version: {{ .Values.tracing.jaeger.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
