#!/usr/bin/env bash
# Debian's Prometheus (and Pushgateway) on 127.0.0.1 for tests and local use; installs the packages when missing.
#   prometheus.sh start DIR CONFIG [PORT]   starts prometheus with CONFIG (storage in DIR), waits until ready
#   prometheus.sh pushgateway DIR [PORT]    starts a Pushgateway, waits until ready
#   prometheus.sh stop DIR                  stops every daemon started in DIR (by its recorded PID), removes DIR
# Idempotent: starting a daemon again in the same DIR first stops the one started there before.
set -euo pipefail
cmd=${1:-}
D=${2:-}
[[ -n "$cmd" && -n "$D" ]] || { echo "usage: $0 start DIR CONFIG [PORT] | pushgateway DIR [PORT] | stop DIR" >&2; exit 2; }

# shellcheck source=daemons.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemons.sh"

install() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-pushgateway >/dev/null || missing+=(prometheus-pushgateway)
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian)" >&2
    SUDO=; [[ $(id -u) == 0 ]] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2
  fi
}

# Starts "$@" as daemon NAME in DIR, replacing a previous one of that name.
daemon() {
  local name=$1
  shift
  if [[ -f "$D/$name.pid" ]]; then
    kill "$(cat "$D/$name.pid")" 2>/dev/null || true
    sleep 0.5
  fi
  setsid "$@" >"$D/$name.log" 2>&1 &
  echo $! >"$D/$name.pid"
  echo $! >>"$D/pids"
}

wait_ready() {
  local url=$1 what=$2
  for _ in $(seq 150); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.2
  done
  echo "$what did not become ready at $url; log: $D/$what.log" >&2
  exit 1
}

case "$cmd" in
  stop)
    stop_pids "$D/pids"
    rm -rf "$D"
    ;;
  start)
    CONFIG=${3:?config file}
    PORT=${4:-9090}
    install
    mkdir -p "$D/data"
    daemon prometheus prometheus --config.file="$CONFIG" --storage.tsdb.path="$D/data" \
      --web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle
    wait_ready "http://127.0.0.1:$PORT/-/ready" prometheus
    echo "http://127.0.0.1:$PORT"
    ;;
  pushgateway)
    PORT=${3:-9091}
    install
    mkdir -p "$D"
    daemon pushgateway prometheus-pushgateway --web.listen-address="127.0.0.1:$PORT"
    wait_ready "http://127.0.0.1:$PORT/-/ready" pushgateway
    echo "http://127.0.0.1:$PORT"
    ;;
  *)
    echo "unknown command $cmd" >&2
    exit 2
    ;;
esac
