#!/usr/bin/env bash
# A real Jaeger on this machine for the platform's traces (docs/tracing.md): the all-in-one `jaeger` binary (v2,
# built on the OpenTelemetry collector) from the Go module proxy, in-memory storage, listening on 127.0.0.1 only.
#
#   local/jaeger.sh build                        build (or reuse) .local/tools/jaeger-<version>/jaeger
#   local/jaeger.sh start [--name N] [--otlp-port P] [--query-port P]
#                                                start it (build first if needed) and wait until it answers
#   local/jaeger.sh stop [--name N]              stop it (traces are in memory: they go with it)
#   local/jaeger.sh status [--name N]            running or not, and where
#   local/jaeger.sh env [--name N]               the OTEL_* lines that send a service's traces to it
#   local/jaeger.sh path                         the binary's path, if built
#
# Default instance ("default"): OTLP/HTTP on 127.0.0.1:4318 (traces at /v1/traces), OTLP/gRPC on 4317, UI and query
# API on http://127.0.0.1:16686. Other instances (tests) take their own --name and ports; their gRPC, health and
# query-gRPC ports follow from the OTLP and query ports (+1 / -1, see below).
# Env: ESHOP_JAEGER_OTLP_PORT (4318), ESHOP_JAEGER_QUERY_PORT (16686), ESHOP_TOOLS_DIR (.local/tools).
set -euo pipefail

SCRIPT_NAME=jaeger # message prefix, read by lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JAEGER_VERSION=v1.75.0
TOOLS_DIR=${ESHOP_TOOLS_DIR:-$LOCAL_DIR/tools}
JAEGER="$TOOLS_DIR/jaeger-$JAEGER_VERSION/jaeger"
BUILD_LOGS="$LOCAL_DIR/logs" # where go_build (lib.sh) writes its log
START_TIMEOUT=${ESHOP_JAEGER_START_TIMEOUT:-60}

usage() { print_usage "${BASH_SOURCE[0]}"; }

build() {
  # A wrapper module (local/jaeger/go.mod): Jaeger's own go.mod has a replace directive, so `go install …@version`
  # refuses it.
  go_build "$JAEGER" "$ESHOP_ROOT/local/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
}

NAME=default
OTLP_PORT=${ESHOP_JAEGER_OTLP_PORT:-4318}
QUERY_PORT=${ESHOP_JAEGER_QUERY_PORT:-16686}

parse_args() {
  while (($#)); do
    case $1 in
      --name) NAME=${2:?--name needs a value}; shift 2 ;;
      --otlp-port) OTLP_PORT=${2:?--otlp-port needs a value}; shift 2 ;;
      --query-port) QUERY_PORT=${2:?--query-port needs a value}; shift 2 ;;
      *) die "unknown option '$1' (see local/jaeger.sh without arguments)" ;;
    esac
  done
  valid_name "$NAME"
  valid_port "$OTLP_PORT"
  valid_port "$QUERY_PORT"
  DIR="$LOCAL_DIR/jaeger/$NAME"
  PID_FILE="$DIR/jaeger.pid"
  LOG_FILE="$DIR/jaeger.log"
  CONFIG="$DIR/config.yaml"
  PORTS_FILE="$DIR/ports"
}

# The ports a running instance was started with (its start wrote them), so stop/status/env need no port options.
load_ports() {
  if [[ -f $PORTS_FILE ]]; then
    # shellcheck source=/dev/null
    source "$PORTS_FILE"
  fi
  derive_ports
}

derive_ports() {
  OTLP_GRPC_PORT=$((OTLP_PORT - 1))
  HEALTH_PORT=$((OTLP_PORT + 1))
  QUERY_GRPC_PORT=$((QUERY_PORT - 1))
}

running_pid() {
  local pid
  pid=$(read_pid "$PID_FILE")
  if [[ -n $pid ]] && pid_matches "$pid" "$JAEGER"; then printf '%s\n' "$pid"; fi
}

# Jaeger's own all-in-one configuration (cmd/jaeger/internal/all-in-one.yaml), trimmed to what the platform sends
# (OTLP), with every listener on loopback, its self-telemetry off (no port 8888) and a bounded memory store.
write_config() {
  cat >"$CONFIG" <<EOF
# Written by local/jaeger.sh start --name $NAME; rewritten on every start.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$HEALTH_PORT
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$QUERY_PORT
    grpc:
      endpoint: 127.0.0.1:$QUERY_GRPC_PORT
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$OTLP_GRPC_PORT
      http:
        endpoint: 127.0.0.1:$OTLP_PORT

processors:
  batch:
    timeout: 200ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

start() {
  local pid port
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    load_ports
    log "jaeger '$NAME' already running (pid $pid): OTLP http://127.0.0.1:$OTLP_PORT, UI http://127.0.0.1:$QUERY_PORT"
    return 0
  fi
  derive_ports
  build
  for port in "$OTLP_PORT" "$OTLP_GRPC_PORT" "$HEALTH_PORT" "$QUERY_PORT" "$QUERY_GRPC_PORT"; do
    if port_listening "$port"; then die "port $port is already in use (see: ss -ltnp 'sport = :$port'); choose others with --otlp-port/--query-port"; fi
  done
  mkdir -p "$DIR"
  write_config
  printf 'OTLP_PORT=%s\nQUERY_PORT=%s\n' "$OTLP_PORT" "$QUERY_PORT" >"$PORTS_FILE"
  log "starting jaeger '$NAME' ($JAEGER_VERSION): OTLP 127.0.0.1:$OTLP_PORT, UI and query API 127.0.0.1:$QUERY_PORT"
  start_detached "$PID_FILE" "$LOG_FILE" "$DIR" "$JAEGER" --config "file:$CONFIG"
  # Ready when the query API answers and the OTLP receiver listens (the health extension reports the pipeline).
  wait_ready_http "jaeger '$NAME'" "$PID_FILE" "$LOG_FILE" "$START_TIMEOUT" "http://127.0.0.1:$HEALTH_PORT/status"
  wait_ready_http "jaeger '$NAME' query API" "$PID_FILE" "$LOG_FILE" "$START_TIMEOUT" "http://127.0.0.1:$QUERY_PORT/api/services"
  log "jaeger '$NAME' ready (pid $(running_pid))"
}

stop() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping jaeger '$NAME' (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" 20; then
    warn "jaeger '$NAME' did not exit within 20s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || die "jaeger (pid $pid) survived SIGKILL"
  fi
  rm -f "$PID_FILE"
}

status() {
  local pid
  pid=$(running_pid)
  load_ports
  if [[ -n $pid ]]; then
    printf "jaeger '%s' running (pid %s): OTLP http://127.0.0.1:%s  UI http://127.0.0.1:%s\n" "$NAME" "$pid" "$OTLP_PORT" "$QUERY_PORT"
  else
    printf "jaeger '%s' not running\n" "$NAME"
    return 1
  fi
}

print_env() {
  load_ports
  printf "export OTEL_EXPORTER_OTLP_ENDPOINT='http://127.0.0.1:%s'\n" "$OTLP_PORT"
}

cmd=${1:-}
shift || true
case $cmd in
  build) build ;;
  path) [[ -x $JAEGER ]] && printf '%s\n' "$JAEGER" ;;
  start) parse_args "$@" && start ;;
  stop) parse_args "$@" && stop ;;
  status) parse_args "$@" && status ;;
  env) parse_args "$@" && print_env ;;
  *) usage ;;
esac
