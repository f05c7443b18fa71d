# shellcheck shell=bash
# Helpers shared by local/mariadb.sh, local/kafka.sh and local/platform.sh. Sourced, never run.
# Callers set SCRIPT_NAME before sourcing (it prefixes every message).

# The repo root comes from this file's location, so the scripts work from any cwd and any clone folder.
ESHOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck disable=SC2034 # used by the scripts that source this file
# Everything the local stack writes (data, logs, pid files, caches) lives here; .gitignore lists it.
LOCAL_DIR="$ESHOP_ROOT/.local"

# Prints a script's header comment (its usage) and exits 2.
print_usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1" >&2
  exit 2
}

log() { printf '[%s] %s\n' "${SCRIPT_NAME:-local}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${SCRIPT_NAME:-local}" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "${SCRIPT_NAME:-local}" "$*" >&2
  exit 1
}

# Prints the last lines of a log file to stderr, so an error message carries the cause with it.
show_log_tail() {
  local file=$1 lines=${2:-25}
  if [[ -s $file ]]; then
    printf -- '---- last %s lines of %s ----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '----\n' >&2
  fi
}

# Reads a numeric pid from a pid file; prints nothing when the file is missing or garbled.
read_pid() {
  local file=$1 pid=''
  [[ -s $file ]] || return 0
  read -r pid <"$file" || true
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# True when the process runs a command line containing the given text. Guards against a stale pid file
# whose pid the kernel has since given to an unrelated process.
pid_matches() {
  local pid=$1 needle=$2
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

# Waits until the process is gone; returns 1 when it is still there after the timeout.
wait_pid_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# True when something accepts TCP connections on host:port (bash's /dev/tcp, so no nc needed).
tcp_open() { timeout 2 bash -c ": >/dev/tcp/$1/$2" 2>/dev/null; }

# True when any process listens on the TCP port (on any address).
port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

valid_name() { [[ $1 =~ ^[a-z0-9][a-z0-9_-]{0,39}$ ]] || die "invalid --name '$1': use lower-case letters, digits, '-' or '_'"; }
valid_port() {
  if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then die "invalid port '$1'"; fi
}

# Runs a command as root: directly when we are root (CI, containers), through sudo otherwise.
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "'$*' needs root and sudo is not installed"
  fi
}

apt_package_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == 'install ok installed' ]]; }

# Installs the Debian packages that are missing; runs 'apt-get update' only when something is missing,
# so a ready machine never touches the network.
apt_install_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    apt_package_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get: install them by hand"
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Waits until curl (with the given arguments) gets a 2xx, while the process of the pid file lives; otherwise dies
# with the log's last lines: "<what> exited during start-up" or "<what> not ready within <timeout>s".
#   wait_ready_http <what> <pid file> <log file> <timeout s> <curl args…>
wait_ready_http() {
  local what=$1 pid_file=$2 log_file=$3 timeout=$4 pid deadline=$((SECONDS + $4))
  shift 4
  pid=$(read_pid "$pid_file")
  until curl -fsS --max-time 2 -o /dev/null "$@" 2>/dev/null; do
    if ! pid_alive "$pid"; then
      show_log_tail "$log_file"
      die "$what exited during start-up; see $log_file"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$log_file"
      die "$what not ready within ${timeout}s; see $log_file"
    fi
    sleep 0.25
  done
}

# Starts a long-running process detached from this shell (own session: no SIGINT from the terminal,
# no SIGHUP when it closes), appends its output to a log file and writes its pid file. The inner shell
# writes its own pid and then execs the command, so the pid file holds the real process's pid however
# setsid forks. A simple command on purpose: a '( ... & )' or 'cd && ... &' wrapper would leave a bash
# parent behind that keeps the caller's stdout/stderr open (a '$(local/kafka.sh start)' would hang).
start_detached() {
  local pid_file=$1 log_file=$2 workdir=$3
  shift 3
  rm -f "$pid_file"
  # shellcheck disable=SC2016 # $$, $0, $1 and $@ belong to the inner shell
  setsid bash -c 'cd "$1" && echo $$ >"$0" && shift && exec "$@"' "$pid_file" "$workdir" "$@" \
    >>"$log_file" 2>&1 </dev/null &
  local deadline=$((SECONDS + 5))
  until [[ -s $pid_file ]]; do
    ((SECONDS < deadline)) || die "process did not start (no $pid_file); see $log_file"
    sleep 0.05
  done
}

# ------------------------------------------------------------------------------------------ go builds
# The tools built from the Go module proxy (local/cluster.sh: Kubernetes, KEDA, helm; local/jaeger.sh: Jaeger).
# Build logs go to $BUILD_LOGS (set by the caller; default .local/logs).

elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

require_go() {
  command -v go >/dev/null ||
    die "go not found: the local tools (Kubernetes, KEDA, helm, Jaeger) are built from the Go module proxy with Go >= 1.26 (Debian: apt-get install golang-1.26-go, or https://go.dev/dl); or put the binaries under .local/tools"
}

# Builds one binary into a folder keyed by version: into a temp file, then renamed, so an interrupted build
# never leaves a binary that looks complete.
#   go_build <output> <module dir or -> <package[@version]> [ldflags]
go_build() {
  local out=$1 moddir=$2 pkg=$3 ldflags=${4:-} name started=$SECONDS log
  [[ -x $out ]] && return 0
  require_go
  name=$(basename "$out")
  local logs=${BUILD_LOGS:-$LOCAL_DIR/logs}
  mkdir -p "$(dirname "$out")" "$logs"
  log="$logs/build-$name.log"
  log "building $name ($pkg; a cold Go build cache takes minutes on 2 cores, a warm one only links)"
  local -a gocmd=(go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$")
  if [[ $moddir == - ]]; then
    # A module without replace directives: `go install`-style build of <package>@<version> in a throwaway module.
    gocmd=(env GOBIN="$(dirname "$out")/.gobin.$$" go install -trimpath -ldflags "-s -w $ldflags" "$pkg")
  else
    gocmd+=("$pkg")
  fi
  # Progress every 30 s: a cold build is long and otherwise silent.
  # (The sleep runs in the background so that the TERM below ends it too: an orphaned sleep would hold our stderr.)
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 30 &
      nap=$!
      wait "$nap"
      log "  still building $name: $(elapsed $((SECONDS - started)))"
    done
  ) &
  local ticker=$! rc=0
  if [[ $moddir == - ]]; then
    (cd "$(dirname "$out")" && "${gocmd[@]}") >"$log" 2>&1 || rc=$?
  else
    (cd "$moddir" && "${gocmd[@]}") >"$log" 2>&1 || rc=$?
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if ((rc != 0)); then
    rm -rf "$out.tmp.$$" "$(dirname "$out")/.gobin.$$"
    show_log_tail "$log" 15
    die "building $name failed (go exit $rc; full output: $log). A network or proxy error: retry; a compile error: check 'go version' (>= 1.26 needed)"
  fi
  if [[ $moddir == - ]]; then
    mv "$(dirname "$out")/.gobin.$$/$(basename "${pkg%@*}")" "$out"
    rm -rf "$(dirname "$out")/.gobin.$$"
  else
    mv "$out.tmp.$$" "$out"
  fi
  log "built $name in $(elapsed $((SECONDS - started))) ($(du -h "$out" | cut -f1))"
}
