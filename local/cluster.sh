#!/usr/bin/env bash
# A real Kubernetes control plane on this machine, without Docker: etcd, kube-apiserver, kube-controller-manager
# and kube-scheduler built from the Go module proxy, with kwok playing the nodes (docs/local-cluster.md).
#
#   local/cluster.sh build             build (or reuse) the binaries: etcd, kube-apiserver, kube-controller-manager,
#                                      kube-scheduler, kubectl, kwok, helm — under .local/tools/<name>-<version>/
#   local/cluster.sh up [--no-deploy]  build, start the control plane and the fake nodes on 127.0.0.1, then deploy
#                                      the platform as a user would (CRDs, helm install, cdk8s app); writes
#                                      .local/cluster/kubeconfig (cluster-admin)
#   local/cluster.sh deploy [--env kind|eks]
#                                      install or upgrade: the operators' CRDs, `helm upgrade --install` of
#                                      charts/eshop-platform with values-<env>.yaml (operator subcharts stubbed),
#                                      the cdk8s app of <env> by server-side apply; waits until it is Ready
#   local/cluster.sh undeploy          delete the cdk8s app and `helm uninstall` the platform (CRDs stay, as Helm's)
#   local/cluster.sh status            what runs, and the nodes
#   local/cluster.sh kubeconfig        print the kubeconfig's path (export KUBECONFIG=$(local/cluster.sh kubeconfig))
#   local/cluster.sh down              stop every process `up` started (data and certificates are kept)
#   local/cluster.sh reset             down, then delete the cluster's data and certificates (keeps the binaries)
#
# Env: ESHOP_ETCD_PORT (2379; the peer port is +1), ESHOP_APISERVER_PORT (6443), ESHOP_KCM_PORT (10257),
# ESHOP_SCHEDULER_PORT (10259), ESHOP_KWOK_PORT (10247); ESHOP_CLUSTER_DIR (.local/cluster: certificates, etcd data,
# logs, pids), ESHOP_TOOLS_DIR (.local/tools). Go's own build cache (go env GOCACHE) makes a rebuild a link only.
set -euo pipefail

SCRIPT_NAME=cluster # message prefix, read by lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v4.3.2
# The KEDA the platform chart installs (charts/eshop-platform/Chart.yaml): the operator and its metrics API server.
KEDA_VERSION=v2.20.2

TOOLS_DIR=${ESHOP_TOOLS_DIR:-$LOCAL_DIR/tools}
K8S_DIR="$TOOLS_DIR/kubernetes-$K8S_VERSION"
ETCD_DIR="$TOOLS_DIR/etcd-$ETCD_VERSION"
KWOK_DIR="$TOOLS_DIR/kwok-$KWOK_VERSION"
HELM_DIR="$TOOLS_DIR/helm-$HELM_VERSION"
KEDA_DIR="$TOOLS_DIR/keda-$KEDA_VERSION"
# Stable names for people and tests (kubectl, helm): symlinks to the versioned binaries.
BIN_DIR="$TOOLS_DIR/bin"
KUBECTL="$K8S_DIR/kubectl"
HELM="$HELM_DIR/helm"

CLUSTER_DIR=${ESHOP_CLUSTER_DIR:-$LOCAL_DIR/cluster}
PKI="$CLUSTER_DIR/pki"
KUBECONFIG_FILE="$CLUSTER_DIR/kubeconfig"
CLUSTER_LOGS="$CLUSTER_DIR/logs"
BUILD_LOGS=$CLUSTER_LOGS # where go_build (lib.sh) writes its logs
CLUSTER_RUN="$CLUSTER_DIR/run"

ETCD_PORT=${ESHOP_ETCD_PORT:-2379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
APISERVER_PORT=${ESHOP_APISERVER_PORT:-6443}
KCM_PORT=${ESHOP_KCM_PORT:-10257}
SCHEDULER_PORT=${ESHOP_SCHEDULER_PORT:-10259}
KWOK_PORT=${ESHOP_KWOK_PORT:-10247}
# KEDA: the operator's gRPC metrics service (the metrics API server asks it for metric values), its metrics and
# health ports, the metrics API server's secure port (on the machine's own address: the aggregation layer reaches it
# through an EndpointSlice, which may not hold a loopback address) and its /metrics port.
KEDA_GRPC_PORT=${ESHOP_KEDA_GRPC_PORT:-9666}
KEDA_OPERATOR_METRICS_PORT=${ESHOP_KEDA_OPERATOR_METRICS_PORT:-9667}
KEDA_OPERATOR_HEALTH_PORT=${ESHOP_KEDA_OPERATOR_HEALTH_PORT:-9668}
KEDA_METRICS_API_PORT=${ESHOP_KEDA_METRICS_API_PORT:-9443}
KEDA_METRICS_API_METRICS_PORT=${ESHOP_KEDA_METRICS_API_METRICS_PORT:-9669}
KEDA_NAMESPACE=keda
SERVICE_CIDR=10.96.0.0/16
SERVICE_API_IP=10.96.0.1 # first address of SERVICE_CIDR: the `kubernetes` Service
POD_CIDR=10.244.0.0/16
# Nodes kwok plays carry this label; a node without it (issue 14's local node agent) is left alone.
KWOK_NODE_LABEL=kwok.x-k8s.io/node
# Start order; `down` stops in reverse (the API server before etcd: with etcd gone first it hangs in shutdown).
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok keda-operator keda-metrics-apiserver)

NAMESPACE=eshop
RELEASE=eshop-platform
PLATFORM_CHART="$ESHOP_ROOT/charts/eshop-platform"
CRD_DIR="$ESHOP_ROOT/test/k8s/schemas/crds"
APP_FIELD_MANAGER=eshop-cdk8s
NODE="$ESHOP_ROOT/node_modules/.bin/node"
DEPLOY_TIMEOUT=${ESHOP_CLUSTER_DEPLOY_TIMEOUT:-300}

usage() { print_usage "${BASH_SOURCE[0]}"; }

# ------------------------------------------------------------------------------------------------ build

build() {
  mkdir -p "$TOOLS_DIR" "$BIN_DIR"
  # The version the binaries report on /version (without it: v0.0.0-master+$Format:%H$).
  local kver="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  kver+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X k8s.io/component-base/version.gitTreeState=clean"
  kver+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    go_build "$K8S_DIR/$c" "$ESHOP_ROOT/local/k8s" "k8s.io/kubernetes/cmd/$c" "$kver"
  done
  go_build "$ETCD_DIR/etcd" "$ESHOP_ROOT/local/k8s/etcd" go.etcd.io/etcd/server/v3
  go_build "$KWOK_DIR/kwok" - "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  go_build "$HELM" - "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
  local keda="-X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v}"
  go_build "$KEDA_DIR/keda-operator" "$ESHOP_ROOT/local/k8s/keda" github.com/kedacore/keda/v2/cmd/operator "$keda"
  go_build "$KEDA_DIR/keda-metrics-apiserver" "$ESHOP_ROOT/local/k8s/keda" github.com/kedacore/keda/v2/cmd/adapter "$keda"
  kwok_stages
  keda_crds
  for c in "$KUBECTL" "$HELM" "$KWOK_DIR/kwok" "$ETCD_DIR/etcd"; do ln -sfn "$c" "$BIN_DIR/$(basename "$c")"; done
}

# kwok ships no stages in its binary: take kwok's own "fast" stages from its module (nodes Ready at once with a
# lease heartbeat; pods Running and Ready once bound, init containers completed; Job pods Succeeded; deleted pods
# gone), unchanged.
kwok_stages() {
  local dest="$KWOK_DIR/stages.yaml" mod f
  [[ -s $dest ]] && return 0
  require_go
  mod=$(cd "$TOOLS_DIR" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $mod ]] || die "go mod download sigs.k8s.io/kwok@$KWOK_VERSION gave no module folder"
  {
    printf '# kwok %s stages, from its module: kustomize/stage/{node,pod}/... (see local/cluster.sh kwok_stages)\n' "$KWOK_VERSION"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'
      cat "$mod/kustomize/stage/$f"
    done
  } >"$dest.tmp" && mv "$dest.tmp" "$dest"
}

# KEDA's operator also watches its eventing CRDs (CloudEventSource, ClusterCloudEventSource), which the pinned
# files in test/k8s/schemas/crds/keda do not include: without them it exits after its cache-sync timeout. Taken
# from KEDA's own module (config/crd/bases), the same release.
keda_crds() {
  local dest="$KEDA_DIR/crds" mod
  [[ -s $dest/eventing.keda.sh_cloudeventsources.yaml ]] && return 0
  require_go
  mod=$(cd "$ESHOP_ROOT/local/k8s/keda" && go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $mod/config/crd/bases ]] || die "go mod download github.com/kedacore/keda/v2@$KEDA_VERSION gave no config/crd/bases"
  mkdir -p "$dest"
  cp "$mod"/config/crd/bases/eventing.keda.sh_*.yaml "$dest/"
  chmod 644 "$dest"/*.yaml
}

# ------------------------------------------------------------------------------------------- certificates

# One CA signs every serving and client certificate; a second one (front-proxy) authenticates the API server to
# aggregated API servers (the aggregation layer, e.g. KEDA's external metrics).
host_ip() {
  # The machine's own non-loopback address: aggregated APIs' Endpoints may not be loopback (docs/local-cluster.md).
  ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n1
}

issue_cert() {
  local name=$1 subject=$2 usage=$3 ca=${4:-ca} san=${5:-}
  [[ -s $PKI/$name.crt ]] && return 0
  local ext="$PKI/$name.ext"
  {
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$usage"
    [[ -n $san ]] && printf 'subjectAltName=%s\n' "$san"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" \
    -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 825 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

issue_ca() {
  local name=$1 cn=$2
  [[ -s $PKI/$name.crt ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" \
    -subj "/CN=$cn" -days 3650 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$PKI/$name.crt" 2>/dev/null
}

certificates() {
  command -v openssl >/dev/null || die "openssl not found: it generates the cluster's certificates (apt-get install openssl)"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  issue_ca ca eshop-local-kubernetes-ca
  issue_ca front-proxy-ca eshop-local-front-proxy-ca
  local san="DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$SERVICE_API_IP" ip
  ip=$(host_ip)
  [[ -n $ip ]] && san+=",IP:$ip"
  issue_cert apiserver /CN=kube-apiserver serverAuth ca "$san"
  issue_cert admin "/O=system:masters/CN=eshop-admin" clientAuth
  issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  issue_cert kube-controller-manager /CN=system:kube-controller-manager clientAuth
  issue_cert kube-scheduler /CN=system:kube-scheduler clientAuth
  issue_cert kwok "/O=system:masters/CN=kwok" clientAuth
  issue_cert front-proxy-client /CN=front-proxy-client clientAuth front-proxy-ca
  issue_cert controller-manager-serving /CN=kube-controller-manager serverAuth ca "DNS:localhost,IP:127.0.0.1"
  issue_cert scheduler-serving /CN=kube-scheduler serverAuth ca "DNS:localhost,IP:127.0.0.1"
  # KEDA: one pair for the operator's gRPC server, the metrics API server's gRPC client and its HTTPS serving (as
  # KEDA's own cert rotation makes it), under the names of the Services the chart would create.
  local keda_san="DNS:keda-operator.$KEDA_NAMESPACE.svc.cluster.local,DNS:keda-operator.$KEDA_NAMESPACE.svc,DNS:keda-metrics-apiserver.$KEDA_NAMESPACE.svc"
  keda_san+=",DNS:keda-metrics-apiserver.$KEDA_NAMESPACE.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
  [[ -n $ip ]] && keda_san+=",IP:$ip"
  issue_cert keda /CN=keda serverAuth,clientAuth ca "$keda_san"
  issue_cert keda-client "/O=system:masters/CN=keda" clientAuth
  mkdir -p "$CLUSTER_DIR/keda-certs"
  cp "$PKI/ca.crt" "$CLUSTER_DIR/keda-certs/ca.crt"
  cp "$PKI/keda.crt" "$CLUSTER_DIR/keda-certs/tls.crt"
  cp "$PKI/keda.key" "$CLUSTER_DIR/keda-certs/tls.key"
  chmod 600 "$CLUSTER_DIR/keda-certs/tls.key"
  if [[ ! -s $PKI/sa.key ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  chmod 600 "$PKI"/*.key
}

b64() { base64 -w0 <"$1"; }

# A kubeconfig with the certificates inlined, so it can be copied anywhere.
write_kubeconfig() {
  local file=$1 user=$2
  local tmp="$file.tmp.$$"
  (
    umask 077
    cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: eshop-local
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(b64 "$PKI/$user.crt")
      client-key-data: $(b64 "$PKI/$user.key")
contexts:
  - name: eshop-local
    context:
      cluster: eshop-local
      user: $user
      namespace: $NAMESPACE
current-context: eshop-local
EOF
  )
  mv "$tmp" "$file"
}

kubeconfigs() {
  write_kubeconfig "$KUBECONFIG_FILE" admin
  write_kubeconfig "$CLUSTER_DIR/kube-controller-manager.kubeconfig" kube-controller-manager
  write_kubeconfig "$CLUSTER_DIR/kube-scheduler.kubeconfig" kube-scheduler
  write_kubeconfig "$CLUSTER_DIR/kwok.kubeconfig" kwok
  write_kubeconfig "$CLUSTER_DIR/keda.kubeconfig" keda-client
}

# ------------------------------------------------------------------------------------------- processes

binary_of() {
  case $1 in
    etcd) printf '%s\n' "$ETCD_DIR/etcd" ;;
    kwok) printf '%s\n' "$KWOK_DIR/kwok" ;;
    keda-*) printf '%s\n' "$KEDA_DIR/$1" ;;
    *) printf '%s\n' "$K8S_DIR/$1" ;;
  esac
}

port_of() {
  case $1 in
    etcd) printf '%s\n' "$ETCD_PORT" ;;
    kube-apiserver) printf '%s\n' "$APISERVER_PORT" ;;
    kube-controller-manager) printf '%s\n' "$KCM_PORT" ;;
    kube-scheduler) printf '%s\n' "$SCHEDULER_PORT" ;;
    kwok) printf '%s\n' "$KWOK_PORT" ;;
    keda-operator) printf '%s\n' "$KEDA_GRPC_PORT" ;;
    keda-metrics-apiserver) printf '%s\n' "$KEDA_METRICS_API_PORT" ;;
  esac
}

port_env_of() {
  case $1 in
    etcd) printf 'ESHOP_ETCD_PORT\n' ;;
    kube-apiserver) printf 'ESHOP_APISERVER_PORT\n' ;;
    kube-controller-manager) printf 'ESHOP_KCM_PORT\n' ;;
    kube-scheduler) printf 'ESHOP_SCHEDULER_PORT\n' ;;
    kwok) printf 'ESHOP_KWOK_PORT\n' ;;
    keda-operator) printf 'ESHOP_KEDA_GRPC_PORT\n' ;;
    keda-metrics-apiserver) printf 'ESHOP_KEDA_METRICS_API_PORT\n' ;;
  esac
}

component_pid() {
  local pid
  pid=$(read_pid "$CLUSTER_RUN/$1.pid")
  if [[ -n $pid ]] && pid_matches "$pid" "$(binary_of "$1")"; then printf '%s\n' "$pid"; fi
}

args_of() {
  case $1 in
    etcd)
      printf '%s\n' --name=eshop-local --data-dir="$CLUSTER_DIR/etcd" \
        --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster="eshop-local=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls= \
        --quota-backend-bytes=2147483648 --snapshot-count=10000 --log-level=warn
      ;;
    kube-apiserver)
      # Default admission plugins (PodSecurity among them); RBAC + Node authorization; the aggregation layer with
      # the front-proxy CA, routing to endpoints (there is no kube-proxy to route a Service's ClusterIP).
      printf '%s\n' --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
        --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
        --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
        --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file="$PKI/sa.pub" \
        --service-account-signing-key-file="$PKI/sa.key" --service-cluster-ip-range="$SERVICE_CIDR" \
        --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
        --proxy-client-key-file="$PKI/front-proxy-client.key" --enable-aggregator-routing=true --profiling=false
      ;;
    kube-controller-manager)
      local kc="$CLUSTER_DIR/kube-controller-manager.kubeconfig"
      printf '%s\n' --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
        --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --tls-cert-file="$PKI/controller-manager-serving.crt" \
        --tls-private-key-file="$PKI/controller-manager-serving.key" --client-ca-file="$PKI/ca.crt" \
        --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
        --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" --root-ca-file="$PKI/ca.crt" \
        --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
        --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" --cluster-name=eshop-local \
        --controllers='*' --leader-elect=false --profiling=false
      ;;
    kube-scheduler)
      local ks="$CLUSTER_DIR/kube-scheduler.kubeconfig"
      printf '%s\n' --kubeconfig="$ks" --authentication-kubeconfig="$ks" --authorization-kubeconfig="$ks" \
        --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --tls-cert-file="$PKI/scheduler-serving.crt" \
        --tls-private-key-file="$PKI/scheduler-serving.key" --client-ca-file="$PKI/ca.crt" \
        --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --leader-elect=false --profiling=false
      ;;
    kwok)
      printf '%s\n' --kubeconfig="$CLUSTER_DIR/kwok.kubeconfig" --config="$KWOK_DIR/stages.yaml" \
        --manage-all-nodes=false --manage-nodes-with-label-selector="$KWOK_NODE_LABEL=fake" \
        --cidr="$POD_CIDR" --node-ip=127.0.0.1 --server-address="127.0.0.1:$KWOK_PORT" \
        --node-lease-duration-seconds=40
      ;;
    keda-operator)
      # As the KEDA chart runs it, minus what only a pod needs: no certificate rotation, webhook or APIService
      # patching (register_keda does it), no leader election.
      printf '%s\n' --kubeconfig="$CLUSTER_DIR/keda.kubeconfig" --leader-elect=false --enable-cert-rotation=false \
        --enable-webhook-patching=false --enable-apiservice-patching=false --cert-dir="$CLUSTER_DIR/keda-certs" \
        --metrics-service-bind-address="127.0.0.1:$KEDA_GRPC_PORT" --metrics-bind-address="127.0.0.1:$KEDA_OPERATOR_METRICS_PORT" \
        --health-probe-bind-address="127.0.0.1:$KEDA_OPERATOR_HEALTH_PORT" --zap-log-level=info --zap-encoder=console
      ;;
    keda-metrics-apiserver)
      local kk="$CLUSTER_DIR/keda.kubeconfig" certs="$CLUSTER_DIR/keda-certs"
      printf '%s\n' --kubeconfig="$kk" --lister-kubeconfig="$kk" --authentication-kubeconfig="$kk" --authorization-kubeconfig="$kk" \
        --bind-address="$(keda_address)" --secure-port="$KEDA_METRICS_API_PORT" --cert-dir="$certs" \
        --tls-cert-file="$certs/tls.crt" --tls-private-key-file="$certs/tls.key" \
        --metrics-service-address="127.0.0.1:$KEDA_GRPC_PORT" \
        --metrics-service-grpc-authority="keda-operator.$KEDA_NAMESPACE.svc.cluster.local" \
        --port="$KEDA_METRICS_API_METRICS_PORT"
      ;;
  esac
}

# What this invocation started: stopped again when `up` fails half-way, so no half-started control plane stays.
STARTED=()

start_component() {
  local c=$1 pid port bin
  pid=$(component_pid "$c")
  if [[ -n $pid ]]; then
    return 0
  fi
  port=$(port_of "$c")
  if port_listening "$port"; then
    die "port $port (for $c) is already in use by another process (see: ss -ltnp 'sport = :$port'); stop it or set $(port_env_of "$c") to a free port"
  fi
  if [[ $c == etcd ]] && port_listening "$ETCD_PEER_PORT"; then
    die "port $ETCD_PEER_PORT (etcd's peer port) is already in use (see: ss -ltnp 'sport = :$ETCD_PEER_PORT'); set ESHOP_ETCD_PORT to a free pair"
  fi
  bin=$(binary_of "$c")
  [[ -x $bin ]] || die "$bin is missing: run local/cluster.sh build"
  local -a args
  mapfile -t args < <(args_of "$c")
  log "starting $c on port $port"
  : >>"$CLUSTER_LOGS/$c.log"
  local -a envs=()
  # KEDA reads its namespace and what to watch (all namespaces) from the environment a pod would give it.
  [[ $c == keda-* ]] && envs=(env POD_NAMESPACE="$KEDA_NAMESPACE" KEDA_CLUSTER_OBJECT_NAMESPACE="$KEDA_NAMESPACE" WATCH_NAMESPACE= OPERATOR_NAME=keda-operator)
  start_detached "$CLUSTER_RUN/$c.pid" "$CLUSTER_LOGS/$c.log" "$CLUSTER_DIR" "${envs[@]}" "$bin" "${args[@]}"
  STARTED+=("$c")
}

# Waits for a URL (curl args) while the component's process lives; dies with its log tail otherwise.
wait_healthy() {
  local c=$1 timeout=$2
  shift 2
  wait_ready_http "$c" "$CLUSTER_RUN/$c.pid" "$CLUSTER_LOGS/$c.log" "$timeout" "$@"
}

# The address KEDA's metrics API server listens on: the machine's own, never loopback (see register_keda).
keda_address() {
  local ip
  ip=$(host_ip)
  [[ -n $ip ]] || die "no non-loopback IPv4 address on this machine: KEDA's metrics API server needs one (the API server reaches aggregated APIs through EndpointSlices, which refuse loopback addresses)"
  printf '%s\n' "$ip"
}

# The operators' CRDs, from the pinned upstream files (KEDA's operator needs its own before it starts).
install_crds() {
  kubectl_ apply --server-side --force-conflicts --field-manager=eshop-crds -f "$CRD_DIR" --recursive >/dev/null
  kubectl_ apply --server-side --force-conflicts --field-manager=eshop-crds -f "$KEDA_DIR/crds" >/dev/null
  kubectl_ wait crd --all --for=condition=Established --timeout=60s >/dev/null
}

# What the KEDA chart would create for its metrics API server, pointing at the local process: the namespace, a
# Service without selector and its EndpointSlice (the machine's address), the APIService for
# external.metrics.k8s.io (the aggregation layer; caBundle = the cluster CA that signed KEDA's certificate), and
# the RBAC that lets the HPA controller read external metrics (KEDA chart: keda-external-metrics-reader).
register_keda() {
  local ip
  ip=$(keda_address)
  kubectl_ apply --server-side --force-conflicts --field-manager=eshop-cluster -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $KEDA_NAMESPACE
---
apiVersion: v1
kind: Service
metadata:
  name: keda-metrics-apiserver
  namespace: $KEDA_NAMESPACE
spec:
  ports:
    - name: https
      port: 443
      targetPort: $KEDA_METRICS_API_PORT
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: keda-metrics-apiserver-local
  namespace: $KEDA_NAMESPACE
  labels:
    kubernetes.io/service-name: keda-metrics-apiserver
    endpointslice.kubernetes.io/managed-by: eshop-local-cluster
addressType: IPv4
ports:
  - name: https
    port: $KEDA_METRICS_API_PORT
    protocol: TCP
endpoints:
  - addresses: ["$ip"]
    conditions: {ready: true}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.external.metrics.k8s.io
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service:
    name: keda-metrics-apiserver
    namespace: $KEDA_NAMESPACE
    port: 443
  caBundle: $(b64 "$PKI/ca.crt")
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keda-external-metrics-reader
rules:
  - apiGroups: [external.metrics.k8s.io]
    resources: ["*"]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: keda-hpa-controller-external-metrics
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: keda-external-metrics-reader
subjects:
  - kind: ServiceAccount
    name: horizontal-pod-autoscaler
    namespace: kube-system
EOF
}

admin_curl() { curl --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }

kubectl_() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

stop_component() {
  local c=$1 pid
  pid=$(component_pid "$c")
  if [[ -z $pid ]]; then
    rm -f "$CLUSTER_RUN/$c.pid"
    return 0
  fi
  log "stopping $c (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" 30; then
    warn "$c did not exit within 30 s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || warn "$c (pid $pid) survived SIGKILL"
  fi
  rm -f "$CLUSTER_RUN/$c.pid"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_component "${COMPONENTS[i]}"; done
}

# kind-config.yaml's nodes (a control plane for ingress, workers in three zones) and eks-cluster.yaml's node
# groups (data-a/b/c, apps), played by kwok: Ready at once, with room for any request.
fake_nodes() {
  local name role zone pool
  while read -r name role zone pool; do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    $KWOK_NODE_LABEL: fake
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    topology.kubernetes.io/zone: $zone
EOF
    if [[ $role == control-plane ]]; then
      printf '    node-role.kubernetes.io/control-plane: ""\n    ingress-ready: "true"\n'
    else
      printf '    node-role.kubernetes.io/worker: ""\n'
    fi
    [[ $pool != - ]] && printf '    eshop.io/pool: %s\n' "$pool"
    if [[ $role == control-plane ]]; then
      printf 'spec:\n  taints:\n    - key: node-role.kubernetes.io/control-plane\n      effect: NoSchedule\n'
    fi
    cat <<EOF
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
  capacity: {cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi}
EOF
  done <<EOF
eshop-control-plane control-plane zone-a -
eshop-worker-a worker zone-a data
eshop-worker-b worker zone-b data
eshop-worker-c worker zone-c data
eshop-apps-a worker zone-a apps
eshop-apps-b worker zone-b apps
eshop-apps-c worker zone-c apps
EOF
}

up_failed() {
  local rc=$?
  trap - EXIT
  if ((rc != 0 && ${#STARTED[@]} > 0)); then
    warn "start-up failed (exit $rc): stopping what this run started (${STARTED[*]})"
    local i
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_component "${STARTED[i]}" 2>/dev/null || true; done
  fi
  exit "$rc"
}

up() {
  local deploy=true arg started=$SECONDS
  for arg in "$@"; do
    case $arg in
      --no-deploy) deploy=false ;;
      *) die "unknown option '$arg' (usage: local/cluster.sh up [--no-deploy])" ;;
    esac
  done
  trap up_failed EXIT
  build
  mkdir -p "$CLUSTER_LOGS" "$CLUSTER_RUN" "$CLUSTER_DIR/etcd"
  chmod 700 "$CLUSTER_DIR/etcd"
  certificates
  kubeconfigs
  local t0=$SECONDS
  start_component etcd
  wait_healthy etcd 30 "http://127.0.0.1:$ETCD_PORT/health"
  start_component kube-apiserver
  wait_healthy kube-apiserver 90 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$APISERVER_PORT/readyz"
  start_component kube-controller-manager
  start_component kube-scheduler
  start_component kwok
  wait_healthy kube-controller-manager 60 --cacert "$PKI/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz"
  wait_healthy kube-scheduler 60 --cacert "$PKI/ca.crt" "https://127.0.0.1:$SCHEDULER_PORT/healthz"
  fake_nodes | kubectl_ apply --server-side --field-manager=eshop-cluster -f - >/dev/null
  kubectl_ wait node -l "$KWOK_NODE_LABEL=fake" --for=condition=Ready --timeout=60s >/dev/null ||
    { show_log_tail "$CLUSTER_LOGS/kwok.log"; die "kwok did not make the nodes Ready within 60 s; see $CLUSTER_LOGS/kwok.log"; }
  # Pods need their namespace's default ServiceAccount, which the controller manager creates.
  local deadline=$((SECONDS + 60))
  until kubectl_ -n default get serviceaccount default >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "the controller manager created no default ServiceAccount within 60 s; see $CLUSTER_LOGS/kube-controller-manager.log"
    sleep 0.5
  done
  # KEDA, for real: its operator reads Kafka lag for ScaledObjects and drives their HPAs; its metrics API server
  # answers the HPA controller through the aggregation layer.
  install_crds
  start_component keda-operator
  start_component keda-metrics-apiserver
  wait_healthy keda-operator 60 "http://127.0.0.1:$KEDA_OPERATOR_HEALTH_PORT/healthz"
  # Serving before it is registered: the aggregator's first availability check then succeeds (a failed one is
  # retried only after a while).
  wait_healthy keda-metrics-apiserver 60 --cacert "$PKI/ca.crt" "https://$(keda_address):$KEDA_METRICS_API_PORT/healthz"
  register_keda
  kubectl_ wait apiservice v1beta1.external.metrics.k8s.io --for=condition=Available --timeout=60s >/dev/null ||
    { show_log_tail "$CLUSTER_LOGS/keda-metrics-apiserver.log"; die "KEDA's external metrics API did not become Available within 60 s; see $CLUSTER_LOGS/keda-metrics-apiserver.log"; }
  log "control plane ready in $((SECONDS - t0)) s: Kubernetes $(kubectl_ version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1), $(kubectl_ get nodes -l "$KWOK_NODE_LABEL=fake" --no-headers | wc -l) kwok nodes"
  if [[ $deploy == true ]]; then
    local revision
    # No release yet (helm status fails): deploy.
    revision=$(helm_ status "$RELEASE" --namespace "$NAMESPACE" -o json 2>/dev/null | sed -n 's/.*"version":\([0-9]*\).*/\1/p' | head -n1) || revision=''
    if [[ -n $revision ]] && kubectl_ -n "$NAMESPACE" get deploy gateway >/dev/null 2>&1; then
      log "the platform is deployed already (release $RELEASE revision $revision); local/platform.sh cluster deploy upgrades it"
    else
      deploy --env kind
    fi
  fi
  trap - EXIT
  log "up in $((SECONDS - started)) s"
  print_cluster
}

print_cluster() {
  cat <<EOF

The local Kubernetes control plane is running (Kubernetes $K8S_VERSION, kwok nodes):
  kubeconfig  .local/cluster/kubeconfig   export KUBECONFIG=\$PWD/.local/cluster/kubeconfig
  kubectl     .local/tools/bin/kubectl get nodes,deploy -A
  helm        .local/tools/bin/helm list -A
  API server  https://127.0.0.1:$APISERVER_PORT   etcd http://127.0.0.1:$ETCD_PORT
  logs        .local/cluster/logs/<component>.log
  stop it     local/platform.sh cluster down
EOF
}

down() {
  stop_all
}

status() {
  local c pid rc=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(component_pid "$c")
    if [[ -n $pid ]]; then
      local addr=127.0.0.1
      [[ $c == keda-metrics-apiserver ]] && addr=$(host_ip)
      printf '%-24s running (pid %s) on %s:%s\n' "$c" "$pid" "$addr" "$(port_of "$c")"
    else
      printf '%-24s not running\n' "$c"
      rc=1
    fi
  done
  if ((rc == 0)); then
    printf 'kubeconfig: %s\n' "$KUBECONFIG_FILE"
    kubectl_ get nodes 2>/dev/null || true
  fi
  return "$rc"
}

reset() {
  down
  rm -rf "$CLUSTER_DIR"
  log "deleted $CLUSTER_DIR (the binaries under $TOOLS_DIR stay)"
}

require_running() {
  if [[ -z $(component_pid kube-apiserver) || ! -s $KUBECONFIG_FILE ]]; then
    die "the local control plane is not running: start it with local/platform.sh cluster up"
  fi
}

# ----------------------------------------------------------------------------------------------- deploy

# charts/eshop-platform with every dependency stubbed (Chart.yaml only, renders nothing): the operator charts
# cannot be downloaded here. The same stubs as charts/render-ci.sh.
stubbed_chart() {
  local dest=$1
  bash "$ESHOP_ROOT/charts/stub-dependencies.sh" "$PLATFORM_CHART" "$dest"
}

helm_() {
  HELM_CACHE_HOME="$CLUSTER_DIR/helm/cache" HELM_CONFIG_HOME="$CLUSTER_DIR/helm/config" HELM_DATA_HOME="$CLUSTER_DIR/helm/data" \
    "$HELM" --kubeconfig "$KUBECONFIG_FILE" "$@"
}

# The values a user installs for an environment: values-<env>.yaml; on EKS also the chart's ci/eks-values.yaml,
# which names an (example) identity provider, as a real install must (values-eks.yaml leaves it empty on purpose).
values_for() {
  local env=$1
  printf '%s\n' --values "$PLATFORM_CHART/values-$env.yaml"
  if [[ $env == eks ]]; then printf '%s\n' --values "$PLATFORM_CHART/ci/eks-values.yaml"; fi
}

synth_app() {
  local env=$1 out=$2
  [[ -x $NODE ]] || die "$NODE is missing: run local/platform.sh deps (npm ci)"
  (cd "$ESHOP_ROOT/cdk8s" && "$NODE" -r "$ESHOP_ROOT/test/k8s/support/register-ts.js" -e '
    const { synthEnvironment } = require("./src/synth.ts");
    const { stringify } = require("yaml");
    process.stdout.write(synthEnvironment(process.argv[1]).map((d) => "---\n" + stringify(d)).join(""));
  ' "$env") >"$out" || die "synthesizing the cdk8s app ($env) failed (output above)"
}

deploy() {
  local env=kind
  while (($#)); do
    case $1 in
      --env) env=${2:-}; shift 2 || shift ;;
      --env=*) env=${1#--env=}; shift ;;
      *) die "unknown option '$1' (usage: local/cluster.sh deploy [--env kind|eks])" ;;
    esac
  done
  [[ $env == kind || $env == eks ]] || die "--env must be kind or eks, not '$env'"
  require_running
  local work started=$SECONDS
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the folder is local to this function
  trap "rm -rf '$work'" RETURN
  log "installing the operators' CRDs (server-side apply of the pinned upstream files in test/k8s/schemas/crds)"
  install_crds
  # Kept under .local/cluster/chart after the deploy, for helm commands by hand (helm upgrade … .local/cluster/chart/eshop-platform).
  stubbed_chart "$CLUSTER_DIR/chart"
  local -a values
  mapfile -t values < <(values_for "$env")
  log "helm upgrade --install $RELEASE (values-$env.yaml; operator subcharts stubbed)"
  helm_ upgrade --install "$RELEASE" "$CLUSTER_DIR/chart/eshop-platform" --namespace "$NAMESPACE" --create-namespace \
    "${values[@]}" --wait=watcher --timeout "${DEPLOY_TIMEOUT}s" >"$CLUSTER_LOGS/helm-$env.log" 2>&1 ||
    { show_log_tail "$CLUSTER_LOGS/helm-$env.log"; die "helm upgrade --install $RELEASE failed; see $CLUSTER_LOGS/helm-$env.log"; }
  log "applying the cdk8s app ($env) with server-side apply"
  synth_app "$env" "$work/app.yaml"
  kubectl_ apply --server-side --field-manager="$APP_FIELD_MANAGER" -f "$work/app.yaml" >"$CLUSTER_LOGS/app-$env.log" 2>&1 ||
    { show_log_tail "$CLUSTER_LOGS/app-$env.log"; die "applying the cdk8s app failed; see $CLUSTER_LOGS/app-$env.log"; }
  kubectl_ -n "$NAMESPACE" wait deploy --all --for=condition=Available --timeout="${DEPLOY_TIMEOUT}s" >/dev/null ||
    { kubectl_ -n "$NAMESPACE" get deploy,pods >&2 || true; die "the app's Deployments did not become Available within ${DEPLOY_TIMEOUT}s"; }
  log "deployed ($env) in $((SECONDS - started)) s: $(kubectl_ -n "$NAMESPACE" get deploy --no-headers | wc -l) Deployments Available"
}

undeploy() {
  require_running
  log "deleting the cdk8s app (everything field manager $APP_FIELD_MANAGER applied in namespace $NAMESPACE)"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the folder is local to this function
  trap "rm -rf '$work'" RETURN
  local env
  for env in kind eks; do
    synth_app "$env" "$work/app-$env.yaml"
    kubectl_ delete --ignore-not-found --wait=true -f "$work/app-$env.yaml" >/dev/null
  done
  if helm_ status "$RELEASE" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    log "helm uninstall $RELEASE"
    helm_ uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout "${DEPLOY_TIMEOUT}s" >/dev/null
  fi
}

cmd=${1:-}
shift || true
case $cmd in
  build) build ;;
  up) up "$@" ;;
  deploy) deploy "$@" ;;
  undeploy) undeploy ;;
  down) down ;;
  status) status ;;
  kubeconfig) printf '%s\n' "$KUBECONFIG_FILE" ;;
  reset) reset ;;
  *) usage ;;
esac
