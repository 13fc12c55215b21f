#!/usr/bin/env bash
# A single-node Ceph object gateway (mon + memstore OSD + radosgw, no auth) in a scratch folder,
# for tests of the trainer's S3 storage: a real S3 server that tests start and stop themselves.
#
# usage: scripts/ceph-rgw.sh start DIR [BIND_ADDR]   # BIND_ADDR: $CEPH_RGW_BIND or 127.0.0.1
#        scripts/ceph-rgw.sh stop DIR
#
# start prints shell-sourceable lines (also written to DIR/env):
#   S3_ENDPOINT=http://ADDR:PORT  S3_ACCESS_KEY=...  S3_SECRET_KEY=...  CEPH_PIDS="..."  CEPH_CONF=...
# Ports are the kernel's picks, so several instances (different DIRs) run side by side. Nothing is
# kept on disk (memstore): stop SIGKILLs the daemons and waits until they are gone.
# With CEPH_RGW_WATCH_PID set (a test process), a watchdog kills the daemons once that process
# exits, so a crashed or killed test leaves no Ceph behind.
# With CEPH_RGW_TLS_CERT and CEPH_RGW_TLS_KEY set (PEM files), radosgw also serves HTTPS with them
# and start prints S3_TLS_ENDPOINT=https://ADDR:PORT.
# Needs: apt-get install ceph-mon ceph-osd radosgw (ceph-common brings the ceph CLI), python3, curl.
set -euo pipefail

usage() { sed -n '2,14p' "$0" >&2; exit 2; }
fail() { echo "ceph-rgw: $*" >&2; exit 1; }

# Kills `pids` with SIGKILL and waits (5 s at most) until none is left; a zombie counts as gone
# (in a container nobody may reap it).
kill_and_wait() {
  local pid
  for pid in "$@"; do kill -9 "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for pid in "$@"; do
      if [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then alive=1; fi
    done
    [ $alive = 0 ] && return 0
    sleep 0.05
  done
  echo "ceph-rgw: processes still alive 5 s after SIGKILL: $*" >&2
  return 1
}

stop() {
  local dir=$1 pids="" watchdog=""
  [ -f "$dir/pids" ] && pids=$(cat "$dir/pids")
  [ -f "$dir/watchdog.pid" ] && watchdog=$(cat "$dir/watchdog.pid")
  # The watchdog runs in its own process group: take its sleep along.
  [ -n "$watchdog" ] && kill -9 -- "-$watchdog" 2>/dev/null || true
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill_and_wait $pids
  rm -f "$dir/pids" "$dir/watchdog.pid"
}

# Prints "MONPORT RGWPORT TLSPORT ACCESS_KEY SECRET_KEY": three ports free on `addr` right now, random keys.
ports_and_keys() {
  python3 - "$1" <<'EOF'
import secrets, socket, string, sys
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind((sys.argv[1], 0))
    socks.append(s)
alnum = string.ascii_uppercase + string.digits
print(*(s.getsockname()[1] for s in socks),
      "".join(secrets.choice(alnum) for _ in range(20)),
      "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)))
EOF
}

write_conf() {
  local dir=$1 addr=$2 mon_port=$3 rgw_port=$4 tls_port=$5 tls=""
  if [ -n "${CEPH_RGW_TLS_CERT:-}" ]; then
    tls=" ssl_endpoint=$addr:$tls_port ssl_certificate=$CEPH_RGW_TLS_CERT ssl_private_key=${CEPH_RGW_TLS_KEY:?set CEPH_RGW_TLS_KEY too}"
  fi
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $(uuidgen)
mon host = v1:$addr:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
# Without crc radosgw loops on "get_initial_auth_request returned -13".
ms mon client mode = crc
ms bind msgr2 = false
ms async op threads = 1
# A taken port fails at once (the script retries with new ports), not after 3 tries 5 s apart.
ms bind retry count = 1
keyring = $dir/keyring
run dir = $dir/run
crash dir = $dir/crash
pid file =
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $dir/log/cluster.log
mon data = $dir/mon/\$name
# The monitor refuses to start when its disk's free space, as a whole percent, is at or below
# "crit": on a large disk under 1% free (2.5 GB of 252 GB) is 0%, so 0 is not enough. A test's
# monitor stores a few MB; a disk that full fails the writes themselves, with their own errors.
mon data avail warn = 0
mon data avail crit = -1
# Paxos proposes at once: start-up takes ~2 s instead of ~12 s.
paxos propose interval = 0.01
mon allow pool size one = true
mon warn on pool no redundancy = false
osd data = $dir/osd/\$name
osd objectstore = memstore
memstore device bytes = 2147483648
osd op num shards = 1
osd op num threads per shard = 1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
[mon.a]
# Explicit: an address on no interface (127.0.0.2) would leave the monitor unable to find itself.
public addr = v1:$addr:$mon_port
[osd]
# Not in [global]: there it would move the monitor off the address its monmap gives it.
public addr = $addr
cluster addr = $addr
# At start an OSD places itself in CRUSH with a command that sometimes leaves before its monitor
# client knows the fsid ("wrong fsid", and the OSD exits): start-up places it with the CLI instead.
osd crush update on start = false
osd class update on start = false
[client.rgw]
rgw frontends = beast endpoint=$addr:$rgw_port$tls
rgw data = $dir/rgw
rgw thread pool size = 8
rgw enable gc threads = false
rgw enable lc threads = false
rgw enable quota threads = false
rgw dynamic resharding = false
EOF
}

# Each step's Ceph name (its log is DIR/log/NAME.log) and the pids of the running daemons.
declare -A ceph_name=([mon]=mon.a [osd]=osd.0 [rgw]=client.rgw [mon-mkfs]=mon.a [osd-mkfs]=osd.0
  [user-create]=client.admin [osd-crush]=client.admin)
declare -A daemon_pids=()

# Runs step `name` to completion, its output in DIR/log/NAME.out.
run_step() {
  local name=$1
  shift
  "$@" </dev/null >"$dir/log/$name.out" 2>&1 || failed "$name" "failed"
}

# Starts a daemon in the foreground of a background job: its pid is known exactly, and its output
# goes to DIR/log/NAME.out, never to our stdout, which a caller reads to the end.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  daemon_pids[$name]=$!
  echo $! >>"$dir/pids"
  disown $!  # no "Killed" lines from bash when a failed start cleans up
}

# Says what step `name` did ("exited during start-up"), with its last words and its log; fails.
# A daemon may exit before it has written a word (its log is flushed by a thread that exit()
# stops), so the free space of DIR's disk is said too.
failed() {
  echo "ceph-rgw: $1 $2 (full log: $dir/log/${ceph_name[$1]}.log); it said:" >&2
  grep -v '^$' "$dir/log/$1.out" 2>/dev/null | tail -n 5 | sed 's/^/  /' >&2 || true
  df -h --output=avail,size "$dir" 2>/dev/null | awk -v d="$dir" 'NR == 2 { print "ceph-rgw: " $1 " free of " $2 " where " d " is" }' >&2 || true
  return 1
}

# Runs a check every 50 ms until it succeeds; fails when a daemon exits or `seconds` pass.
wait_until() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds)) name
  until "$@" >/dev/null 2>&1; do
    for name in "${!daemon_pids[@]}"; do
      kill -0 "${daemon_pids[$name]}" 2>/dev/null || failed "$name" "exited during start-up" || return 1
    done
    if [ $SECONDS -ge $deadline ]; then
      echo "ceph-rgw: $what not ready after ${seconds}s (logs in $dir/log)" >&2
      return 1
    fi
    sleep 0.05
  done
}

rgw_answers() { curl -s -o /dev/null --max-time 1 "http://$addr:$rgw_port/"; }

# One attempt at starting everything; returns non-zero (with a message) on failure.
start_once() {
  local ceph=(--conf "$dir/ceph.conf") osd_uuid
  daemon_pids=()
  rm -rf "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/pids" "$dir/env"
  mkdir -p "$dir/mon" "$dir/osd/osd.0" "$dir/run" "$dir/log" "$dir/crash" "$dir/rgw"
  : >"$dir/keyring"
  local picked
  picked=$(ports_and_keys "$addr" 2>&1) ||
    fail "cannot bind $addr (${picked##*$'\n'}): pass an address of this host or network namespace"
  read -r mon_port rgw_port tls_port access_key secret_key <<<"$picked"
  write_conf "$dir" "$addr" "$mon_port" "$rgw_port" "$tls_port"
  osd_uuid=$(uuidgen)

  run_step mon-mkfs ceph-mon "${ceph[@]}" --mkfs -i a || return 1
  spawn mon ceph-mon "${ceph[@]}" -f -i a
  # `osd new` both waits for the monitor's quorum and gives id 0 to the OSD's uuid.
  wait_until "monitor at $addr:$mon_port" 30 ceph "${ceph[@]}" --connect-timeout 2 osd new "$osd_uuid" || return 1
  # Right after the election the monitor may still refuse commands ("EPERM: problem getting command
  # descriptions from mon", seen once in ~50 starts): ask again until it takes it.
  wait_until "CRUSH placement of osd.0" 30 ceph "${ceph[@]}" --connect-timeout 2 osd crush add osd.0 1 root=default ||
    return 1
  run_step osd-mkfs ceph-osd "${ceph[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" || return 1
  spawn osd ceph-osd "${ceph[@]}" -f -i 0
  spawn rgw radosgw "${ceph[@]}" -f -n client.rgw
  wait_until "radosgw at $addr:$rgw_port" 60 rgw_answers || return 1
  # -n client.admin: as client.rgw it would collide with the gateway's admin socket.
  run_step user-create radosgw-admin "${ceph[@]}" -n client.admin user create --uid tester --display-name tester \
    --access-key "$access_key" --secret "$secret_key" || return 1
}

start() {
  command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null &&
    command -v radosgw-admin >/dev/null && command -v ceph >/dev/null ||
    fail "Ceph is not installed (run: apt-get install ceph-mon ceph-osd radosgw)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # The daemons outlive us: they must not hold a caller's sockets or pipes open (a test's listening
  # socket, the pipe it reads our output from). 255 is the script bash reads from.
  local fd
  for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  [ -f "$dir/pids" ] && fail "$dir already holds a running gateway (run: $0 stop $dir)"
  local attempt
  # Whatever ends this script before the gateway is up (an error, a signal) takes its daemons along.
  trap 'stop "$dir"' EXIT
  # A port the kernel offered may be taken by someone else before the daemon binds it: retry.
  for attempt in 1 2 3; do
    if start_once; then break; fi
    stop "$dir"
    grep -qs "Address already in use" "$dir"/log/* || fail "could not start a gateway in $dir (logs in $dir/log)"
    [ $attempt = 3 ] && fail "could not start a gateway in $dir: ports taken 3 times (logs in $dir/log)"
    echo "ceph-rgw: a port was taken meanwhile; retrying with new ports" >&2
  done
  local pids
  pids=$(tr '\n' ' ' <"$dir/pids" | sed 's/ $//')
  if [ -n "${CEPH_RGW_WATCH_PID:-}" ]; then
    # Its own process group (setsid), so stop can kill it along with its sleep.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; shift; kill -9 "$@"' \
      ceph-rgw-watchdog "$CEPH_RGW_WATCH_PID" $pids </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/watchdog.pid"
  fi
  {
    echo "S3_ENDPOINT=http://$addr:$rgw_port"
    [ -n "${CEPH_RGW_TLS_CERT:-}" ] && echo "S3_TLS_ENDPOINT=https://$addr:$tls_port"
    echo "S3_ACCESS_KEY=$access_key"
    echo "S3_SECRET_KEY=$secret_key"
    echo "CEPH_PIDS=\"$pids\""
    echo "CEPH_CONF=$dir/ceph.conf"
  } >"$dir/env"
  trap - EXIT
  cat "$dir/env"
}

[ $# -ge 2 ] || usage
command=$1
dir=$2
addr=${3:-${CEPH_RGW_BIND:-127.0.0.1}}
case "$command" in
  start) start ;;
  stop) stop "$dir" ;;
  *) usage ;;
esac
