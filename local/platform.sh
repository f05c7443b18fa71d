#!/usr/bin/env bash
# The one entry point for running the platform on a development machine or in CI.
#
#   local/platform.sh deps           install what is missing: Debian packages, npm packages, Kafka jars, and for the tests
#                                    prometheus/promtool, the local control plane and helm (built with go), eksctl's schema
#   local/platform.sh infra          what running needs (not the test tools), then MariaDB + Kafka + topics + Jaeger (traces);
#                                    writes .local/stack.env
#   local/platform.sh up             infra, build, migrations, services, demo catalog; prints the URLs and demo tokens
#   local/platform.sh token --sub ID --role admin|customer [--ttl 8h] [--secret-file FILE|-]
#                                    mint an access token for the local gateway (stdout: the token only)
#   local/platform.sh down           stop the services, Kafka and MariaDB (data is kept)
#   local/platform.sh status         what runs where
#   local/platform.sh logs NAME      follow a log: product, order, order-consumer, gateway, kafka, mariadb, jaeger
#   local/platform.sh cluster up|down|status|kubeconfig|deploy|undeploy|build|reset
#                                    a real Kubernetes control plane on this machine (local/cluster.sh, docs/local-cluster.md)
#   local/platform.sh test           deps + infra + cluster + `npm test` (with CI=true everything is stopped after)
#   local/platform.sh reset          down, then delete all local data (keeps the download cache)
#
# Every command is idempotent: running it again only does what is missing. See docs/local-development.md.
# ESHOP_TRACING=off: no Jaeger, and the services started by `up` export no traces (docs/tracing.md).
set -euo pipefail

SCRIPT_NAME=platform # message prefix, read by lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MARIADB_SH="$ESHOP_ROOT/local/mariadb.sh"
KAFKA_SH="$ESHOP_ROOT/local/kafka.sh"
JAEGER_SH="$ESHOP_ROOT/local/jaeger.sh"
JAEGER_OTLP_PORT=${ESHOP_JAEGER_OTLP_PORT:-4318}
JAEGER_QUERY_PORT=${ESHOP_JAEGER_QUERY_PORT:-16686}
TRACING=${ESHOP_TRACING:-on}
STACK_ENV="$LOCAL_DIR/stack.env"
# The local stack's keys, generated once: AUTH_JWT_SECRET (the gateway's local token issuer) and
# GATEWAY_IDENTITY_SECRET (gateway → product/order identity header). Not in stack.env: tests use their own.
AUTH_ENV="$LOCAL_DIR/auth.env"
AUTH_ISSUER=eshop-local
AUTH_AUDIENCE=eshop-api
MINT_TOKEN="$ESHOP_ROOT/services/gateway/dist/tools/mint-token.js"
# The demo customer of the printed examples; its orders carry user_id 42.
DEMO_CUSTOMER=42
DEMO_TOKEN_TTL=12h
LOGS_DIR="$LOCAL_DIR/logs"
RUN_DIR="$LOCAL_DIR/run"
# Node 24 from the `node` devDependency; the machine's own node may be older.
NODE="$ESHOP_ROOT/node_modules/.bin/node"

# Ports can be moved when something else on the machine holds the defaults.
DB_PORT=${ESHOP_MARIADB_PORT:-3307}
KAFKA_PORT=${ESHOP_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${ESHOP_KAFKA_CONTROLLER_PORT:-9093}
DB_USER=eshop
DB_PASSWORD=eshop # local-only development password, see local/mariadb.sh
TOPIC_PARTITIONS=${ESHOP_TOPIC_PARTITIONS:-12}
PRODUCT_TOPIC='product-events'
ORDER_TOPIC='order-events'

# Start order: the gateway last, because it proxies to the others. order-consumer is the order
# service's Kafka consumer process (async orders); it serves only /healthz, /readyz and /metrics.
SERVICES=(product order order-consumer gateway)
declare -A SERVICE_PORT=([product]=8081 [order]=8082 [order-consumer]=8083 [gateway]=8080)
declare -A SERVICE_ENTRY=(
  [product]=services/product/dist/main.js
  [order]=services/order/dist/main.js
  [order-consumer]=services/order/dist/consumer.js
  [gateway]=services/gateway/dist/main.js
)
SERVICE_READY_TIMEOUT=${ESHOP_SERVICE_READY_TIMEOUT:-60}
SERVICE_STOP_TIMEOUT=${ESHOP_SERVICE_STOP_TIMEOUT:-30}

usage() { print_usage "${BASH_SOURCE[0]}"; }

# ---------------------------------------------------------------------------------------------- deps

npm_deps() {
  command -v npm >/dev/null || die "npm not found (it should have come with the nodejs package)"
  local marker="$ESHOP_ROOT/node_modules/.package-lock.json"
  # npm writes node_modules/.package-lock.json on every install: older than package-lock.json means a
  # dependency changed since the last install.
  if [[ ! -f $marker || $ESHOP_ROOT/package-lock.json -nt $marker ]]; then
    log "installing npm packages (npm ci)"
    (cd "$ESHOP_ROOT" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  [[ -x $NODE ]] || die "$NODE is missing: the 'node' devDependency provides Node 24; run npm ci"
}

CLUSTER_SH="$ESHOP_ROOT/local/cluster.sh"

# The test suite's Kubernetes tools: the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) and helm v4, built from the Go module proxy by local/cluster.sh into
# .local/tools, and KEDA (cold: about 13 minutes on 2 cores; with Go's build cache warm, about a minute of linking).
cluster_tools() {
  command -v go >/dev/null ||
    die "go not found: the tests build Kubernetes, KEDA, helm and Jaeger from the Go module proxy (Go >= 1.26); install Go, or put the binaries under .local/tools (see local/cluster.sh)"
  "$CLUSTER_SH" build
}

# eks-cluster.yaml is validated against eksctl's own ClusterConfig schema (test/k8s/clusters.test.ts). It ships
# inside the eksctl Go module; v0.215.0 is the newest the Go module proxy serves (github.com/eksctl-io/eksctl
# is refused). Only the schema file is kept, in the download cache.
EKSCTL_VERSION=v0.215.0
eksctl_schema() {
  local dest="$LOCAL_DIR/cache/eksctl-$EKSCTL_VERSION/schema.json" modcache dir
  [[ -f $dest ]] && return 0
  command -v go >/dev/null || die "go not found: it downloads eksctl $EKSCTL_VERSION's ClusterConfig schema (Go module proxy)"
  log "fetching eksctl $EKSCTL_VERSION's ClusterConfig schema (Go module proxy)"
  modcache=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the folder is local to this function
  trap "rm -rf '$modcache'" RETURN
  GOMODCACHE="$modcache" GOFLAGS=-modcacherw go mod download "github.com/weaveworks/eksctl@$EKSCTL_VERSION" ||
    die "go mod download github.com/weaveworks/eksctl@$EKSCTL_VERSION failed"
  # The module cache's layout: <cache>/<module path>@<version> (the path has no upper-case letters to escape).
  dir="$modcache/github.com/weaveworks/eksctl@$EKSCTL_VERSION"
  mkdir -p "$(dirname "$dest")"
  cp "$dir/pkg/apis/eksctl.io/v1alpha5/assets/schema.json" "$dest.tmp" && mv "$dest.tmp" "$dest"
}

# Jaeger (local/jaeger.sh) is built with Go like the cluster tools (cold: about 4 minutes on 2 cores). Running the
# platform does not need it: without Go, `up` warns and the services run untraced. The tests need it (deps).
tracing_available() {
  [[ $TRACING == on ]] || return 1
  [[ -n $("$JAEGER_SH" path 2>/dev/null) || -n $(command -v go) ]] || {
    warn "go not found: no local Jaeger, so the services run without tracing (install Go >= 1.26 to get traces; ESHOP_TRACING=off silences this)"
    return 1
  }
}

# What running the platform needs: MariaDB, Java + Maven for the Kafka jars, Node/npm; Jaeger when Go is there.
runtime_deps() {
  local packages=(mariadb-server)
  # Present on the project's machines, but a bare Debian needs them too.
  command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || packages+=(maven)
  command -v curl >/dev/null || packages+=(curl)
  command -v npm >/dev/null || packages+=(nodejs npm)
  apt_install_missing "${packages[@]}"
  npm_deps
  "$KAFKA_SH" fetch
  if tracing_available; then "$JAEGER_SH" build; fi
}

# Everything, also what only the tests need: promtool and prometheus (alert-rule tests and the real-Prometheus
# query proof in test/observability; Debian's prometheus 2.42, ~12 s), the local control plane, helm and eksctl's
# schema (test/k8s).
deps() {
  local packages=()
  command -v promtool >/dev/null || packages+=(prometheus)
  ((${#packages[@]} == 0)) || apt_install_missing "${packages[@]}"
  # Building the control plane is CPU-bound (minutes on a cold machine), the rest is mostly downloads: overlap them.
  local tools_pid
  (cluster_tools && "$JAEGER_SH" build && eksctl_schema) &
  tools_pid=$!
  runtime_deps
  wait "$tools_pid" || die "building the Kubernetes tools or fetching the eksctl schema failed (see above)"
}

# --------------------------------------------------------------------------------------------- infra

# Single-quoted shell values, so the file can be sourced and parsed (load-stack-env.js) the same way.
env_line() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

write_stack_env() {
  mkdir -p "$LOCAL_DIR"
  local tmp="$STACK_ENV.tmp.$$" prefix
  {
    printf '# Written by local/platform.sh infra: how services and tests reach the local stack.\n'
    printf '# Shell: source .local/stack.env   Jest: loaded by services/common/test-support/load-stack-env.js\n'
    env_line ESHOP_LOCAL_ROOT "$ESHOP_ROOT"
    env_line ESHOP_MARIADB_SCRIPT "$MARIADB_SH"
    env_line ESHOP_KAFKA_SCRIPT "$KAFKA_SH"
    for prefix in PRODUCT ORDER; do
      env_line "${prefix}_DB_HOST" 127.0.0.1
      env_line "${prefix}_DB_PORT" "$DB_PORT"
      env_line "${prefix}_DB_USER" "$DB_USER"
      env_line "${prefix}_DB_PASSWORD" "$DB_PASSWORD"
    done
    env_line PRODUCT_DB_NAME product_db
    env_line ORDER_DB_NAME order_db
    env_line KAFKA_BROKERS "127.0.0.1:$KAFKA_PORT"
    env_line KAFKA_PRODUCT_TOPIC "$PRODUCT_TOPIC"
    env_line KAFKA_ORDER_TOPIC "$ORDER_TOPIC"
    if [[ $JAEGER_RUNNING == true ]]; then
      env_line ESHOP_JAEGER_OTLP_URL "http://127.0.0.1:$JAEGER_OTLP_PORT"
      env_line ESHOP_JAEGER_QUERY_URL "http://127.0.0.1:$JAEGER_QUERY_PORT"
    fi
  } >"$tmp"
  mv "$tmp" "$STACK_ENV"
}

# What this invocation started itself (as opposed to found running); `test` under CI stops only these.
STARTED_MARIADB=false
STARTED_KAFKA=false
STARTED_CLUSTER=false
STARTED_JAEGER=false
JAEGER_RUNNING=false

start_infra() {
  "$MARIADB_SH" status >/dev/null 2>&1 || STARTED_MARIADB=true
  "$KAFKA_SH" status >/dev/null 2>&1 || STARTED_KAFKA=true
  # Their own status lines are replaced by the summary below; progress and errors still show.
  "$MARIADB_SH" start --port "$DB_PORT" >/dev/null
  "$KAFKA_SH" start --port "$KAFKA_PORT" --controller-port "$KAFKA_CONTROLLER_PORT" >/dev/null
  # Partitions bound how many order consumers can share the work (the autoscaling ceiling).
  "$KAFKA_SH" create-topics "$PRODUCT_TOPIC:$TOPIC_PARTITIONS" "$ORDER_TOPIC:$TOPIC_PARTITIONS" "$ORDER_TOPIC.dlq:$TOPIC_PARTITIONS"
  if tracing_available; then
    "$JAEGER_SH" status >/dev/null 2>&1 || STARTED_JAEGER=true
    "$JAEGER_SH" start --otlp-port "$JAEGER_OTLP_PORT" --query-port "$JAEGER_QUERY_PORT"
    JAEGER_RUNNING=true
  fi
  write_stack_env
}

jaeger_line() {
  if [[ $JAEGER_RUNNING == true ]]; then
    printf '  Jaeger    UI and query API http://127.0.0.1:%s   OTLP/HTTP http://127.0.0.1:%s\n            log .local/jaeger/default/jaeger.log' \
      "$JAEGER_QUERY_PORT" "$JAEGER_OTLP_PORT"
  else
    printf '  Jaeger    not running (tracing off)'
  fi
}

print_infra() {
  cat <<EOF
Local infrastructure is running:
  MariaDB   127.0.0.1:$DB_PORT  user $DB_USER / password $DB_PASSWORD, databases product_db and order_db
            data .local/mariadb/default   log .local/mariadb/default/mariadbd.err
  Kafka     127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)  topics $PRODUCT_TOPIC, $ORDER_TOPIC, $ORDER_TOPIC.dlq
            data .local/kafka/default   log .local/kafka/default/logs/server.log
$(jaeger_line)
  Settings  .local/stack.env  (source it in a shell; jest loads it by itself)
  Stop it   local/platform.sh down
EOF
}

infra() {
  runtime_deps
  start_infra
  print_infra
}

# -------------------------------------------------------------------------------------------- auth

# 48 random bytes as base64: 64 characters, twice the gateway's minimum.
random_key() {
  if command -v openssl >/dev/null; then
    openssl rand -base64 48 | tr -d '\n'
  else
    head -c 48 /dev/urandom | base64 | tr -d '\n'
  fi
}

# Generates .local/auth.env once (mode 600) and keeps it: tokens minted earlier stay valid across restarts.
ensure_auth_env() {
  if [[ ! -f $AUTH_ENV ]]; then
    mkdir -p "$LOCAL_DIR"
    local tmp="$AUTH_ENV.tmp.$$"
    (
      umask 077
      {
        printf '# Written once by local/platform.sh: the keys of the local stack. Never commit or reuse them.\n'
        printf '# AUTH_JWT_SECRET: HS256 key of the gateway'"'"'s local token issuer (local/platform.sh token mints with it).\n'
        printf '# GATEWAY_IDENTITY_SECRET: HMAC key of the identity header the gateway signs for product and order.\n'
        env_line AUTH_JWT_SECRET "$(random_key)"
        env_line GATEWAY_IDENTITY_SECRET "$(random_key)"
      } >"$tmp"
    )
    mv "$tmp" "$AUTH_ENV"
    log "generated the local stack's keys: .local/auth.env (mode 600)"
  fi
  chmod 600 "$AUTH_ENV"
}

# Reads the keys into shell variables that are NOT exported: each process gets only the keys it needs
# (start_service), and no key ever appears on a command line.
load_auth_env() {
  ensure_auth_env
  # shellcheck source=/dev/null
  source "$AUTH_ENV"
  export -n AUTH_JWT_SECRET GATEWAY_IDENTITY_SECRET
  if ((${#AUTH_JWT_SECRET} < 32 || ${#GATEWAY_IDENTITY_SECRET} < 32)); then
    die "$AUTH_ENV must set AUTH_JWT_SECRET and GATEWAY_IDENTITY_SECRET (at least 32 characters each); delete it to generate new keys"
  fi
}

# The token tool is part of the gateway's build; a fresh clone builds just that (and @eshop/common).
ensure_mint_token() {
  [[ -f $MINT_TOKEN ]] && return 0
  npm_deps
  log "building the gateway for its token tool (tsc -b services/gateway)"
  (cd "$ESHOP_ROOT" && "$NODE" node_modules/typescript/bin/tsc -b services/gateway) >&2 || die "building services/gateway failed (output above)"
}

# Mints a token with the local stack's key (load_auth_env first); arguments as for `token`.
mint_local_token() {
  AUTH_JWT_SECRET=$AUTH_JWT_SECRET AUTH_JWT_ISSUER=$AUTH_ISSUER AUTH_JWT_AUDIENCE=$AUTH_AUDIENCE "$NODE" "$MINT_TOKEN" "$@"
}

# `token`: the local stack's key, unless the caller brings one (AUTH_JWT_SECRET or --secret-file, e.g. kind's).
token() {
  [[ $# -gt 0 ]] || set -- --help
  ensure_mint_token
  local arg own_key=false
  [[ -n ${AUTH_JWT_SECRET:-} ]] && own_key=true
  for arg in "$@"; do
    [[ $arg == --secret-file || $arg == --secret-file=* || $arg == --help || $arg == -h ]] && own_key=true
  done
  if [[ $own_key == true ]]; then
    AUTH_JWT_ISSUER=${AUTH_JWT_ISSUER:-$AUTH_ISSUER} AUTH_JWT_AUDIENCE=${AUTH_JWT_AUDIENCE:-$AUTH_AUDIENCE} exec "$NODE" "$MINT_TOKEN" "$@"
  fi
  load_auth_env
  mint_local_token "$@"
}

# ------------------------------------------------------------------------------------------ services

service_main() { printf '%s/%s\n' "$ESHOP_ROOT" "${SERVICE_ENTRY[$1]}"; }

service_pid() {
  local pid
  pid=$(read_pid "$RUN_DIR/$1.pid")
  if [[ -n $pid ]] && pid_matches "$pid" "$(service_main "$1")"; then
    printf '%s\n' "$pid"
  fi
}

load_stack_env() {
  [[ -f $STACK_ENV ]] || die "$STACK_ENV is missing: run local/platform.sh infra"
  # shellcheck source=/dev/null
  source "$STACK_ENV"
  # The services' own ports and the gateway's upstreams; not in stack.env, so tests (which start services
  # on port 0) never pick them up by accident.
  # Local processes listen on loopback only (containers use the default 0.0.0.0).
  export HTTP_HOST=127.0.0.1
  export PRODUCT_SERVICE_PORT=${SERVICE_PORT[product]}
  export ORDER_SERVICE_PORT=${SERVICE_PORT[order]}
  export ORDER_CONSUMER_PORT=${SERVICE_PORT[order-consumer]}
  export API_GATEWAY_PORT=${SERVICE_PORT[gateway]}
  export PRODUCT_SERVICE_URL="http://127.0.0.1:${SERVICE_PORT[product]}"
  export ORDER_SERVICE_URL="http://127.0.0.1:${SERVICE_PORT[order]}"
  # Traces to the local Jaeger, every one of them (production defaults to 10 %); not in stack.env, so tests choose.
  if [[ $JAEGER_RUNNING == true ]]; then
    export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$JAEGER_OTLP_PORT"
    export OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=1 OTEL_BSP_SCHEDULE_DELAY=1000
  fi
}

run_migrations() {
  local s migrate migrate_log
  for s in product order; do
    migrate="$ESHOP_ROOT/services/$s/dist/migrate.js"
    migrate_log="$LOGS_DIR/$s-migrate.log"
    [[ -f $migrate ]] || die "$migrate is missing after the build"
    log "migrating $s"
    if ! (cd "$ESHOP_ROOT/services/$s" && timeout 120 "$NODE" "$migrate") >>"$migrate_log" 2>&1; then
      show_log_tail "$migrate_log"
      die "migrations of $s failed; see $migrate_log"
    fi
  done
}

# Starts one built service unless it runs already.
start_service() {
  local s=$1 main pid port=${SERVICE_PORT[$1]}
  main=$(service_main "$s")
  pid=$(service_pid "$s")
  if [[ -n $pid ]]; then
    log "$s already running (pid $pid)"
    return 0
  fi
  if port_listening "$port"; then die "port $port (the $s service) is already in use (see: ss -ltnp 'sport = :$port')"; fi
  log "starting $s on 127.0.0.1:$port"
  # Keys as environment of this call only (local -x): the gateway verifies tokens and signs identities, product
  # and order verify identities, the consumers need neither.
  case $s in
    gateway) local -x AUTH_JWT_SECRET=$AUTH_JWT_SECRET AUTH_JWT_ISSUER=$AUTH_ISSUER AUTH_JWT_AUDIENCE=$AUTH_AUDIENCE GATEWAY_IDENTITY_SECRET=$GATEWAY_IDENTITY_SECRET ;;
    product | order) local -x GATEWAY_IDENTITY_SECRET=$GATEWAY_IDENTITY_SECRET ;;
  esac
  # Working folder: the service's package (services/<package>), as `npm start` there would use.
  # kafkajs 2.2.4 trips Node 24's harmless TimeoutNegativeWarning (kafkajs issue #1751); keep logs JSON-only.
  start_detached "$RUN_DIR/$s.pid" "$LOGS_DIR/$s.log" "${main%/dist/*}" "$NODE" --disable-warning=TimeoutNegativeWarning "$main"
}

wait_service_ready() {
  local s=$1 url="http://127.0.0.1:${SERVICE_PORT[$1]}/readyz"
  wait_ready_http "the $s service" "$RUN_DIR/$s.pid" "$LOGS_DIR/$s.log" "$SERVICE_READY_TIMEOUT" "$url"
  log "$s ready ($url)"
}

# Stops a group of services together: SIGTERM to all, then wait for all (each drains on its own:
# stop HTTP, finish work, commit consumers, close the pool), SIGKILL after the timeout.
stop_services() {
  local s pid pids=() names=()
  for s in "$@"; do
    pid=$(service_pid "$s")
    if [[ -z $pid ]]; then
      rm -f "$RUN_DIR/$s.pid"
      continue
    fi
    log "stopping $s (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("$s")
  done
  local i deadline=$((SECONDS + SERVICE_STOP_TIMEOUT))
  for i in "${!pids[@]}"; do
    if ! wait_pid_gone "${pids[i]}" $((deadline > SECONDS ? deadline - SECONDS : 0)); then
      warn "${names[i]} did not exit within ${SERVICE_STOP_TIMEOUT}s of SIGTERM; sending SIGKILL (see $LOGS_DIR/${names[i]}.log)"
      kill -KILL "${pids[i]}" 2>/dev/null || true
      wait_pid_gone "${pids[i]}" 10 || die "${names[i]} (pid ${pids[i]}) survived SIGKILL"
    fi
    rm -f "$RUN_DIR/${names[i]}.pid"
  done
}

# A few products, only into an empty catalog, so `up` can run any number of times. Through the gateway, as an
# admin: the product service takes catalog writes only with an identity the gateway signed.
load_demo_catalog() {
  local base="http://127.0.0.1:${SERVICE_PORT[gateway]}" body count product
  body=$(curl -fsS --max-time 5 "$base/products") || {
    warn "GET $base/products failed: no demo catalog loaded"
    return 0
  }
  count=$("$NODE" -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const items = JSON.parse(s).items;
      console.log(Array.isArray(items) ? items.length : -1);
    });' <<<"$body") || count=-1
  if [[ $count != 0 ]]; then
    [[ $count == -1 ]] && warn "GET $base/products did not return { items: [...] }: no demo catalog loaded"
    return 0
  fi
  log "loading the demo catalog"
  local products=(
    '{"name":"Espresso beans 1 kg","description":"Dark roast, whole beans","price":"19.99","stock":120}'
    '{"name":"Pour-over kettle","description":"1 l gooseneck kettle, stainless steel","price":"39.90","stock":35}'
    '{"name":"Ceramic dripper","description":"Size 02, white","price":"24.50","stock":60}'
    '{"name":"Paper filters (100)","description":"Size 02, unbleached","price":"4.95","stock":500}'
    '{"name":"Burr grinder","description":"Hand grinder, 40 settings","price":"89.00","stock":12}'
    '{"name":"Limited edition mug","description":"Only three made: try an oversold order","price":"15.00","stock":3}'
  )
  for product in "${products[@]}"; do
    curl -fsS --max-time 5 -o /dev/null -H 'content-type: application/json' -H @- -d "$product" "$base/products" \
      <<<"authorization: Bearer $ADMIN_TOKEN" ||
      warn "POST $base/products failed for $product"
  done
}

# Demo access tokens (shell variables ADMIN_TOKEN, CUSTOMER_TOKEN), minted fresh on every `up`.
mint_demo_tokens() {
  ADMIN_TOKEN=$(mint_local_token --sub admin --role admin --ttl "$DEMO_TOKEN_TTL") || die "minting the demo admin token failed"
  CUSTOMER_TOKEN=$(mint_local_token --sub "$DEMO_CUSTOMER" --role customer --ttl "$DEMO_TOKEN_TTL") || die "minting the demo customer token failed"
}

# Prints where the started services are, the demo tokens and a few requests to try.
print_urls() {
  local s api="http://127.0.0.1:${SERVICE_PORT[gateway]}"
  printf '\nThe platform is up. Start at the API gateway: %s\n\n' "$api"
  for s in gateway product order order-consumer; do
    printf '  %-15s http://127.0.0.1:%s   metrics http://127.0.0.1:%s/metrics   log .local/logs/%s.log\n' \
      "$s" "${SERVICE_PORT[$s]}" "${SERVICE_PORT[$s]}" "$s"
  done
  cat <<EOF

Access tokens for the gateway (local issuer $AUTH_ISSUER, audience $AUTH_AUDIENCE, valid $DEMO_TOKEN_TTL). Paste into your shell:
  export ADMIN_TOKEN='$ADMIN_TOKEN'
  export CUSTOMER_TOKEN='$CUSTOMER_TOKEN'
ADMIN_TOKEN (sub admin, role admin) may change the catalog and every order; CUSTOMER_TOKEN (sub $DEMO_CUSTOMER, role
customer) places and reads the orders of user $DEMO_CUSTOMER only. Mint more: local/platform.sh token --sub alice --role customer [--ttl 8h]

Try:
  curl -s $api/products                   # the catalog is public: no token
  curl -s -X POST $api/products -H "authorization: Bearer \$ADMIN_TOKEN" -H 'content-type: application/json' \\
       -d '{"name":"Tea","description":"Green tea, 100 g","price":"6.50","stock":10}'
  curl -s -X POST $api/orders -H "authorization: Bearer \$CUSTOMER_TOKEN" -H 'content-type: application/json' \\
       -d '{"user_id":"$DEMO_CUSTOMER","items":[{"product_id":1,"quantity":2}]}'
  curl -si -X POST $api/orders/async -H "authorization: Bearer \$CUSTOMER_TOKEN" -H 'content-type: application/json' \\
       -d '{"user_id":"$DEMO_CUSTOMER","items":[{"product_id":1,"quantity":1}]}'
  curl -s "$api/orders?user_id=$DEMO_CUSTOMER" -H "authorization: Bearer \$CUSTOMER_TOKEN"
$(trace_hint)
  curl -si -X POST $api/orders -H 'content-type: application/json' -d '{}'   # no token: 401 problem+json
  local/platform.sh logs order-consumer   # follow a service's log
  local/platform.sh down                  # stop everything (data is kept)
More: README.md and docs/ (API, events, configuration, local development).
EOF
}

trace_hint() {
  if [[ $JAEGER_RUNNING == true ]]; then
    printf 'Traces of every request and async order (gateway -> order -> Kafka -> consumer -> product): http://127.0.0.1:%s\n' "$JAEGER_QUERY_PORT"
    printf '  curl -s "http://127.0.0.1:%s/api/traces?service=order-service&tags=%%7B%%22order.id%%22%%3A%%22ORDER_ID%%22%%7D"   # one order'"'"'s trace\n' "$JAEGER_QUERY_PORT"
  else
    printf 'Traces: off (no local Jaeger; see docs/tracing.md)\n'
  fi
}

up() {
  infra
  log "building (npm run build)"
  (cd "$ESHOP_ROOT" && npm run build) >&2 || die "npm run build failed (output above)"
  mkdir -p "$LOGS_DIR" "$RUN_DIR"
  load_stack_env
  load_auth_env
  run_migrations
  local s
  for s in "${SERVICES[@]}"; do
    [[ -f $(service_main "$s") ]] || die "${SERVICE_ENTRY[$s]} is missing after the build"
    start_service "$s"
    wait_service_ready "$s"
  done
  mint_demo_tokens
  load_demo_catalog
  print_urls
}

down() {
  # Callers first, so nothing calls a service that is going away: the gateway, then the order service
  # and its consumers (both call the product service), then the product service.
  stop_services gateway
  stop_services order order-consumer
  stop_services product
  "$KAFKA_SH" stop
  "$MARIADB_SH" stop
  "$JAEGER_SH" stop
  "$CLUSTER_SH" down
}

status() {
  local s pid
  for s in "${SERVICES[@]}"; do
    pid=$(service_pid "$s")
    if [[ -n $pid ]]; then
      printf '%-15s running (pid %s) on http://127.0.0.1:%s\n' "$s" "$pid" "${SERVICE_PORT[$s]}"
    elif [[ -f $(service_main "$s") ]]; then
      printf '%-15s not running\n' "$s"
    else
      printf '%-15s not built (%s missing)\n' "$s" "${SERVICE_ENTRY[$s]}"
    fi
  done
  "$MARIADB_SH" status || true
  "$KAFKA_SH" status || true
  "$JAEGER_SH" status || true
  "$CLUSTER_SH" status 2>/dev/null | sed 's/^/cluster: /' || true
  if [[ -f $STACK_ENV ]]; then printf 'settings: %s\n' "$STACK_ENV"; fi
  if [[ -f $AUTH_ENV ]]; then printf 'keys:     %s (mint tokens: local/platform.sh token --sub ID --role admin|customer)\n' "$AUTH_ENV"; fi
}

logs() {
  local what=${1:-} file
  case $what in
    product | order | order-consumer | gateway) file="$LOGS_DIR/$what.log" ;;
    kafka) file="$LOCAL_DIR/kafka/default/logs/server.log" ;;
    mariadb) file="$LOCAL_DIR/mariadb/default/mariadbd.err" ;;
    jaeger) file="$LOCAL_DIR/jaeger/default/jaeger.log" ;;
    *) die "usage: local/platform.sh logs product|order|order-consumer|gateway|kafka|mariadb|jaeger" ;;
  esac
  [[ -f $file ]] || die "no log yet: $file"
  exec tail -n 100 -F "$file"
}

# Under CI: stop what this run started (a stack that was already running is left alone).
stop_started_infra() {
  if [[ $STARTED_CLUSTER == true ]]; then "$CLUSTER_SH" down || warn "stopping the local control plane failed"; fi
  if [[ $STARTED_JAEGER == true ]]; then "$JAEGER_SH" stop || warn "stopping Jaeger failed"; fi
  if [[ $STARTED_KAFKA == true ]]; then "$KAFKA_SH" stop || warn "stopping Kafka failed"; fi
  if [[ $STARTED_MARIADB == true ]]; then "$MARIADB_SH" stop || warn "stopping MariaDB failed"; fi
}

run_tests() {
  if [[ ${CI:-} == true ]]; then
    # CI must leave nothing running that it started; the exit code stays the tests' (or the failed step's).
    trap 'rc=$?; trap - EXIT; log "CI: stopping what this run started"; stop_started_infra; exit "$rc"' EXIT
  fi
  deps
  start_infra
  print_infra
  # The real API server the Kubernetes suites (test/k8s) install the platform on; they deploy what they need.
  "$CLUSTER_SH" status >/dev/null 2>&1 || STARTED_CLUSTER=true
  "$CLUSTER_SH" up --no-deploy
  log "running npm test"
  local rc=0
  (cd "$ESHOP_ROOT" && npm test) || rc=$?
  log "npm test exited with $rc"
  exit "$rc"
}

reset() {
  down
  "$CLUSTER_SH" reset
  rm -rf "$LOCAL_DIR/mariadb" "$LOCAL_DIR/kafka" "$LOCAL_DIR/jaeger" "$LOGS_DIR" "$RUN_DIR" "$STACK_ENV" "$AUTH_ENV"
  log "deleted the local data under $LOCAL_DIR (kept the download cache $LOCAL_DIR/cache and the tools in $LOCAL_DIR/tools)"
}

cmd=${1:-}
shift || true
case $cmd in
  deps) deps ;;
  infra) infra ;;
  up) up ;;
  down) down ;;
  status) status ;;
  logs) logs "$@" ;;
  token) token "$@" ;;
  test) run_tests ;;
  cluster) exec "$CLUSTER_SH" "$@" ;;
  reset) reset ;;
  *) usage ;;
esac
