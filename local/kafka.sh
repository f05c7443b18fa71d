#!/usr/bin/env bash
# The real Apache Kafka broker (version from local/kafka/pom.xml) as one KRaft node that is both broker
# and controller, run straight from Maven Central jars: no Docker, no ZooKeeper, nothing outside the
# repo's .local/ folder and Maven's ~/.m2. Several named brokers can run side by side (fault tests).
#
#   local/kafka.sh start  [--name NAME] [--port P] [--controller-port P]
#                                                      first start: formats storage, readies the group coordinator
#   local/kafka.sh stop   [--name NAME] [--hard]       SIGTERM and wait; --hard: kill -9 (fault tests)
#   local/kafka.sh status [--name NAME]                exit 0 when running, 3 when not
#   local/kafka.sh create-topics [--name NAME] [TOPIC[:PARTITIONS] ...]
#                                                      idempotent; default: the platform's topics
#   local/kafka.sh reset  [--name NAME]                stop and delete the broker's data
#   local/kafka.sh fetch                               only download the jars (local/platform.sh deps)
#
# Defaults: --name default, client port 9092 and controller port 9093 on 127.0.0.1. A broker remembers
# its ports, so later commands need only --name.
set -euo pipefail

SCRIPT_NAME=kafka # message prefix, read by lib.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POM="$ESHOP_ROOT/local/kafka/pom.xml"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
[[ -n $KAFKA_VERSION ]] || die "no <kafka.version> in $POM"
CACHE_DIR="$LOCAL_DIR/cache/kafka-$KAFKA_VERSION"
LIBS="$CACHE_DIR/libs"
DEFAULT_PORT=9092
DEFAULT_CONTROLLER_PORT=9093
DEFAULT_TOPICS=(product-events:12 order-events:12 order-events.dlq:12)
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
# Short-lived tool JVMs: C1 only and the serial GC start noticeably faster than the server defaults.
TOOL_JVM_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
  "-Dlog4j2.configurationFile=$ESHOP_ROOT/local/kafka/tools-log4j2.yaml")

usage() { print_usage "${BASH_SOURCE[0]}"; }

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
name=default
port=''
controller_port=''
hard=false
topics=()
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --controller-port) controller_port=${2:?--controller-port needs a value}; shift 2 ;;
    --hard) hard=true; shift ;;
    -h | --help) usage ;;
    -*) die "unknown option '$1'" ;;
    *) topics+=("$1"); shift ;;
  esac
done
valid_name "$name"
if ((${#topics[@]})) && [[ $cmd != create-topics ]]; then die "unexpected argument '${topics[0]}'"; fi

dir="$LOCAL_DIR/kafka/$name"
props="$dir/server.properties"
datadir="$dir/data"
logs_dir="$dir/logs"
out_log="$dir/kafka.out"
pid_file="$dir/kafka.pid"
ports_file="$dir/ports.env"
client_props="$dir/tools-client.properties"

need_java() {
  command -v java >/dev/null || die "java not found: run local/platform.sh deps (Kafka $KAFKA_VERSION needs Java 17+)"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  ((${major:-0} >= 17)) || die "Kafka $KAFKA_VERSION needs Java 17 or newer, found '${major:-unknown}'"
}

# Copies the broker's jars out of Maven's repository. A stamp with the pom's checksum makes re-runs free
# and refreshes the folder when the pom changes. ~/.m2 stays Maven's cache, so a re-fetch is offline.
fetch() {
  local want tmp mvn_log
  want=$(sha256sum "$POM" | cut -d ' ' -f 1)
  if [[ -f $LIBS/.pom.sha256 && $(<"$LIBS/.pom.sha256") == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: run local/platform.sh deps (or apt-get install maven)"
  mkdir -p "$CACHE_DIR"
  tmp="$LIBS.tmp.$$"
  mvn_log="$CACHE_DIR/mvn.log"
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION jars with Maven (the first time downloads ~60 MB into ~/.m2)"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    show_log_tail "$mvn_log"
    die "Maven could not resolve the Kafka jars; see $mvn_log"
  fi
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  # Swap in the complete folder at once, so an interrupted fetch never leaves half a classpath.
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
}

kafka_tool() { java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" "$@"; }

running_pid() {
  local pid
  pid=$(read_pid "$pid_file")
  if [[ -n $pid ]] && pid_matches "$pid" "$props"; then
    printf '%s\n' "$pid"
  fi
}

# Loads the ports this broker was formatted with; command-line options win for the client port.
load_ports() {
  local saved_port='' saved_controller_port=''
  if [[ -f $ports_file ]]; then
    saved_port=$(sed -n 's/^PORT=//p' "$ports_file")
    saved_controller_port=$(sed -n 's/^CONTROLLER_PORT=//p' "$ports_file")
  fi
  # The controller's address is written into the metadata log at format time (dynamic quorum), so it
  # cannot change without a reset.
  if [[ -n $controller_port && -n $saved_controller_port && $controller_port != "$saved_controller_port" ]]; then
    die "broker '$name' was formatted with controller port $saved_controller_port; use another --name or run: local/kafka.sh reset --name $name"
  fi
  port=${port:-${saved_port:-$DEFAULT_PORT}}
  controller_port=${controller_port:-${saved_controller_port:-$DEFAULT_CONTROLLER_PORT}}
  valid_port "$port"
  valid_port "$controller_port"
  ((port != controller_port)) || die "--port and --controller-port must differ"
}

bootstrap() { printf '127.0.0.1:%s\n' "$port"; }

write_config() {
  mkdir -p "$datadir" "$logs_dir"
  printf 'PORT=%s\nCONTROLLER_PORT=%s\n' "$port" "$controller_port" >"$ports_file"
  # Regenerated on every start so a change in this script reaches existing brokers.
  cat >"$props" <<EOF
# Generated by local/kafka.sh on every start: change the script, not this file.
# One KRaft node that is broker and controller at once (combined mode).
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$datadir

# Topics are created on purpose (kafka.sh create-topics, tests' admin clients); a typo must not create one.
auto.create.topics.enable=false
num.partitions=12
default.replication.factor=1
min.insync.replicas=1
# A single node cannot hold the default three replicas of the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumer groups form at once instead of waiting 3 s for more members: tests start and stop consumers.
group.initial.rebalance.delay.ms=0
# After a kill -9 the restarted broker cannot register until its old registration's session expires
# (default 9 s, so a crash-restart took ~15 s). Heartbeats go to the controller in the same JVM, so a
# shorter session is safe here and makes fault tests' restarts faster.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
EOF
  cat >"$client_props" <<EOF
# Admin-client settings for the Kafka tools run by local/kafka.sh: fail within seconds, not minutes.
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

# A cluster id is 16 random bytes in URL-safe base64 without padding (what 'kafka-storage random-uuid'
# prints); made here to save a JVM start. Kafka rejects ids starting with '-', so draw again then.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [[ $id == -* ]] || break
  done
  printf '%s\n' "$id"
}

freshly_formatted=false
format_storage() {
  [[ -f $datadir/meta.properties ]] && return 0
  freshly_formatted=true
  local cluster_id format_log="$dir/format.log"
  cluster_id=$(new_cluster_id)
  log "formatting $datadir (first start, cluster id $cluster_id)"
  # --standalone: a single-node dynamic controller quorum (KIP-853), the layout Kafka 4.x documents.
  if ! kafka_tool kafka.tools.StorageTool format --standalone --cluster-id "$cluster_id" --config "$props" \
    >"$format_log" 2>&1; then
    show_log_tail "$format_log"
    die "formatting the Kafka storage failed; see $format_log"
  fi
}

print_status() {
  printf 'kafka %s: running (pid %s), Kafka %s, bootstrap %s, controller 127.0.0.1:%s\n' \
    "$name" "$1" "$KAFKA_VERSION" "$(bootstrap)" "$controller_port"
  printf '  config: %s\n  data:   %s\n  logs:   %s/server.log, %s\n' "$props" "$datadir" "$logs_dir" "$out_log"
}

# Readiness means the broker answers a real metadata request, not merely that the port is open.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! pid_alive "$pid"; then
      show_log_tail "$out_log"
      show_log_tail "$logs_dir/server.log"
      die "the broker exited during start-up; see $logs_dir/server.log and $out_log"
    fi
    if tcp_open 127.0.0.1 "$port" &&
      kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" \
        --command-config "$client_props" --list >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$logs_dir/server.log"
      die "the broker did not answer on $(bootstrap) within ${START_TIMEOUT}s; see $logs_dir/server.log (pid $pid left running: local/kafka.sh stop --name $name)"
    fi
    sleep 0.5
  done
}

start() {
  local pid
  load_ports
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    log "already running"
    print_status "$pid"
    return 0
  fi
  need_java
  fetch
  local p
  for p in "$port" "$controller_port"; do
    if port_listening "$p"; then die "port $p is already in use by another process (see: ss -ltnp 'sport = :$p'); choose others with --port/--controller-port"; fi
  done
  write_config
  format_storage
  log "starting broker '$name' on $(bootstrap)"
  start_detached "$pid_file" "$out_log" "$dir" \
    java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$ESHOP_ROOT/local/kafka/log4j2.yaml" "-Dkafka.logs.dir=$logs_dir" \
    -cp "$LIBS/*" kafka.Kafka "$props"
  pid=$(read_pid "$pid_file")
  wait_ready "$pid"
  if [[ $freshly_formatted == true ]]; then warm_up_group_coordinator; fi
  print_status "$pid"
}

stop() {
  local pid
  pid=$(running_pid)
  if [[ -z $pid ]]; then
    rm -f "$pid_file"
    log "$name is not running"
    return 0
  fi
  if [[ $hard == true ]]; then
    # A crash, for fault tests: no controlled shutdown, no flush; the next start recovers the logs.
    log "killing $name (pid $pid) with SIGKILL"
    kill -KILL "$pid"
    wait_pid_gone "$pid" 10 || die "pid $pid survived SIGKILL"
  else
    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    if ! wait_pid_gone "$pid" "$STOP_TIMEOUT"; then
      warn "no clean exit within ${STOP_TIMEOUT}s; sending SIGKILL (see $logs_dir/server.log)"
      kill -KILL "$pid" 2>/dev/null || true
      wait_pid_gone "$pid" 10 || die "pid $pid survived SIGKILL"
    fi
  fi
  rm -f "$pid_file"
  log "$name stopped"
}

status() {
  load_ports
  local pid
  pid=$(running_pid)
  if [[ -n $pid ]]; then
    print_status "$pid"
  else
    printf 'kafka %s: not running%s\n' "$name" "$([[ -d $datadir ]] && printf ' (data in %s)' "$datadir")"
    return 3
  fi
}

# A fresh broker creates __consumer_offsets on the first FindCoordinator request and then loads its
# 50 partitions; until that is done consumers get COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR, and a
# kafkajs consumer crashes and restarts itself (it recovers, but seconds later and with error logs).
# Asking the coordinator once here means the first consumer of a fresh broker finds it ready.
# Describing a group that does not exist is answered by the coordinator itself, so "not found" means
# it is ready (the tool exits 0 either way, hence the text match).
warm_up_group_coordinator() {
  local deadline=$((SECONDS + START_TIMEOUT)) out
  log "waiting for the consumer group coordinator (first start of this broker)"
  while :; do
    out=$(kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$(bootstrap)" \
      --command-config "$client_props" --describe --group eshop-coordinator-warm-up 2>&1) || true
    if grep -qE 'GroupIdNotFoundException|does not exist' <<<"$out"; then return 0; fi
    if ((SECONDS >= deadline)); then
      printf '%s\n' "$out" | tail -n 5 >&2
      die "the group coordinator did not become available within ${START_TIMEOUT}s; see $logs_dir/server.log"
    fi
    sleep 1
  done
}

create_topics() {
  load_ports
  [[ -n $(running_pid) ]] || die "broker '$name' is not running: local/kafka.sh start --name $name"
  ((${#topics[@]})) || topics=("${DEFAULT_TOPICS[@]}")
  local existing spec topic partitions
  # One listing up front (one JVM start) so re-runs, where everything exists, cost about a second.
  existing=$(kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" \
    --command-config "$client_props" --list) || die "could not list topics on $(bootstrap)"
  for spec in "${topics[@]}"; do
    topic=${spec%%:*}
    partitions=12
    [[ $spec == *:* ]] && partitions=${spec#*:}
    [[ $topic =~ ^[A-Za-z0-9._-]+$ ]] || die "invalid topic name '$topic'"
    [[ $partitions =~ ^[1-9][0-9]*$ ]] || die "invalid partition count in '$spec'"
    if grep -qxF -- "$topic" <<<"$existing"; then
      log "topic $topic exists"
      continue
    fi
    # --if-not-exists keeps this safe when something else creates the topic in between.
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" \
      --command-config "$client_props" --create --if-not-exists --topic "$topic" \
      --partitions "$partitions" --replication-factor 1 >/dev/null ||
      die "could not create topic $topic on $(bootstrap)"
    log "created topic $topic ($partitions partitions)"
  done
  if ! grep -qxF __consumer_offsets <<<"$existing"; then warm_up_group_coordinator; fi
}

reset() {
  stop
  rm -rf "$dir"
  log "deleted $dir"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  status) status ;;
  create-topics) create_topics ;;
  reset) reset ;;
  fetch) need_java; fetch ;;
  *) usage ;;
esac
