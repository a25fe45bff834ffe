#!/usr/bin/env bash
# A real S3 server for tests: Ceph's radosgw (Debian) on 127.0.0.1 with one monitor and one in-memory OSD.
#   radosgw.sh start DIR   installs the packages if missing, starts the daemons in DIR, waits until S3 answers,
#                          and prints the UNPRUNE_S3_* settings as `export` lines
#   radosgw.sh stop DIR    stops the daemons started in DIR (by their recorded PIDs) and removes DIR
#   radosgw.sh stop-gateway|start-gateway DIR   kills / restarts only the S3 gateway (fault injection)
# Starting again in the same DIR replaces the cluster running there.
# What it does and why: docs/test-services.md. Port: RADOSGW_PORT (default 7480); monitor port RADOSGW_MON_PORT (6789).
set -euo pipefail

cmd=${1:-}
D=${2:-}
[[ -n "$cmd" && -n "$D" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
PORT=${RADOSGW_PORT:-7480}
MON_PORT=${RADOSGW_MON_PORT:-6789}
ACCESS=unprune-test-access
SECRET=unprune-test-secret-key

# shellcheck source=daemons.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemons.sh"

stop() {
  # SIGKILL at once: the OSD keeps its objects in memory and DIR goes too, so a clean shutdown saves nothing (the
  # daemons took 5 s to heed SIGTERM, once per test that starts a cluster).
  stop_pids "$D/pids" 0
  rm -rf "$D"
}

start_gateway() {
  setsid radosgw -c "$D/ceph.conf" -n client.rgw.a -f >>"$D/log/rgw.out" 2>&1 &
  echo $! >"$D/rgw.pid"
  echo $! >>"$D/pids"
}

wait_gateway() {
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.2
  done
  echo "radosgw did not answer on 127.0.0.1:$PORT within 60 s; logs in $D/log" >&2
  exit 1
}

if [[ "$cmd" == stop ]]; then stop; exit 0; fi
# Fault injection for tests: the S3 gateway goes away and comes back; the cluster (and its data) stays.
if [[ "$cmd" == stop-gateway ]]; then kill -9 "$(cat "$D/rgw.pid")"; exit 0; fi
if [[ "$cmd" == start-gateway ]]; then PORT=$(cat "$D/port"); start_gateway; wait_gateway; exit 0; fi
[[ "$cmd" == start ]] || { echo "unknown command $cmd" >&2; exit 2; }
# Idempotent: a cluster started before in DIR is stopped and replaced by a fresh one.
stop

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v uuidgen >/dev/null; then
  echo "installing ceph-mon ceph-osd radosgw uuid-runtime (Debian)" >&2
  SUDO=; [[ $(id -u) == 0 ]] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q ceph-mon ceph-osd radosgw uuid-runtime >&2
fi

mkdir -p "$D"/{run,log,rgw,mon.a,osd.0}
D=$(cd "$D" && pwd)
echo "$PORT" >"$D/port"
FSID=$(uuidgen)
cat >"$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr2 = false
ms bind port min = $((MON_PORT + 1))
ms bind port max = $((MON_PORT + 200))
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
osd max object name len = 460
osd max object namespace len = 64
[mon.a]
mon data = $D/mon.a
[osd.0]
osd data = $D/osd.0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $D/rgw
CONF
C="-c $D/ceph.conf"
# A failed start stops what it started (the logs stay for reading).
trap 'echo "radosgw start failed; logs in $D/log" >&2; if [[ -f "$D/pids" ]]; then while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$D/pids"; fi' ERR
cd "$D"
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >/dev/null 2>&1
setsid ceph-mon $C -i a -f >"$D/log/mon.out" 2>&1 &
echo $! >>"$D/pids"
U=$(uuidgen)
timeout 60 ceph $C osd new "$U" >/dev/null
ceph-osd $C -i 0 --mkfs --osd-uuid "$U" >/dev/null 2>&1
start_osd() {
  setsid ceph-osd $C -i 0 -f >>"$D/log/osd.out" 2>&1 &
  echo $! >>"$D/pids"
}
# setsid may fork, so the OSD is found by its command line rather than by $!.
osd_alive() { pgrep -f "ceph-osd -c $D/ceph.conf -i 0 -f" >/dev/null; }
# On a loaded machine the OSD can ask the monitor for its CRUSH class before its monitor client knows the cluster
# fsid; the monitor refuses ('wrong fsid', "handle_command on fsid 0000…") and the OSD exits. A restart gets past it.
start_osd
for attempt in 1 2 3; do
  for _ in $(seq 150); do
    osd_alive || break
    if timeout 10 ceph $C osd stat 2>/dev/null | grep -q ' 1 up'; then break 2; fi
    sleep 0.2
  done
  osd_alive && break # alive but slow: the gateway waits for it
  echo "osd.0 exited during start-up (attempt $attempt); restarting it" >&2
  start_osd
done
start_gateway
timeout 30 radosgw-admin $C user create --uid=unprune-test --display-name=unprune-test \
  --access-key=$ACCESS --secret=$SECRET >/dev/null
for _ in $(seq 300); do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "export UNPRUNE_S3_ENDPOINT=http://127.0.0.1:$PORT"
    echo "export UNPRUNE_S3_ACCESS_KEY=$ACCESS"
    echo "export UNPRUNE_S3_SECRET_KEY=$SECRET"
    exit 0
  fi
  sleep 0.2
done
echo "radosgw did not answer on 127.0.0.1:$PORT within 60 s; logs in $D/log" >&2
exit 1
