#!/usr/bin/env bash
# User-space instructions and system calls per request of one server process: instructions from
# valgrind's callgrind, system calls from strace -c of a second, uninstrumented run. Unlike CPU
# seconds, neither depends on what else the machine is doing, so configurations, profiles and
# code changes can be compared exactly, on a busy machine too (`make bench` runs it for its
# "instructions" part; BENCHMARKS.md explains the figures with it).
#
#   PORT=N [SETTINGS...] bench/instructions.sh PATH ACCEPT-ENCODING COMMAND...
#   e.g. HOST=127.0.0.1 PORT=8080 METRICS_PORT=0 WORKERS=1 SITE_DIR=site \
#          bench/instructions.sh /index.html gzip target/release/marketing-server
#
# COMMAND (a program, not `env`: valgrind must run the server itself) must serve HTTP on
# 127.0.0.1:PORT in one process (our servers with WORKERS=1, nginx with `master_process off`),
# configured by the environment it inherits; ACCEPT-ENCODING may be empty. After start-up (until the process has used
# no CPU for a second: marketing-server compresses the site first) and WARMUP requests, it counts
# N requests on one keep-alive connection from a python client (whose own cost is outside the
# measured process) and prints "INSTRUCTIONS SYSCALLS" per request, whole process (every thread:
# the access-log writer included).
# Knobs: N (default 1000), WARMUP (200), AUTH (if set, sent as the Authorization header of every
# request, e.g. AUTH="Bearer $TOKEN" for the backend's authenticated routes).
set -euo pipefail
REQ_PATH=$1 ENC=$2
shift 2
: "${PORT:?PORT: the port COMMAND listens on}"
N=${N:-1000} WARMUP=${WARMUP:-200}
TMP=$(mktemp -d /tmp/instructions.XXXXXX)
PID="" SPID=""
cleanup() {
  for p in $SPID $PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# load COUNT: COUNT GETs of REQ_PATH on one keep-alive connection; any status >= 400 fails.
load() {
  AUTH=${AUTH:-} python3 - "$PORT" "$REQ_PATH" "$ENC" "$1" <<'EOF'
import http.client, os, sys
port, path, enc, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Accept-Encoding": enc} if enc else {}
if os.environ["AUTH"]:
    headers["Authorization"] = os.environ["AUTH"]
for _ in range(n):
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    r.read()
    if r.status >= 400:
        sys.exit(f"{path}: status {r.status}")
EOF
}
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# Up, answering REQ_PATH, and done with start-up work.
settled() {
  local a b
  for _ in $(seq 1 1200); do
    curl -fs -o /dev/null ${AUTH:+-H "Authorization: $AUTH"} "http://127.0.0.1:$PORT$REQ_PATH" && break
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/out" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.1
  done
  a=$(cpu)
  for _ in $(seq 1 600); do
    sleep 1
    b=$(cpu)
    [ "$a" = "$b" ] && return 0
    a=$b
  done
  echo "the server never settled" >&2
  exit 1
}

# Instructions: counters zeroed after the warm-up, dumped after the N requests.
# callgrind_control finds the process through vgdb's pipe, named after HOST and USER as the
# server saw them when valgrind made it: nginx empties its environment, so both are tried.
ctl() {
  HOST=127.0.0.1 callgrind_control "$@" >"$TMP/ctl" 2>&1
  if grep -q 'error opening' "$TMP/ctl"; then
    env -u USER -u LOGNAME -u HOST callgrind_control "$@" >"$TMP/ctl" 2>&1
  fi
  ! grep -q 'error opening' "$TMP/ctl"
}
valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.%p" "$@" >"$TMP/out" 2>&1 &
PID=$!
settled
load "$WARMUP"
ctl -z "$PID" || { cat "$TMP/ctl" >&2; exit 1; }
load "$N"
ctl -d "$PID" || { cat "$TMP/ctl" >&2; exit 1; }
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
[ -s "$TMP/cg.$PID.1" ] || { cat "$TMP/out" >&2; ls -la "$TMP" >&2; cat "$TMP/ctl" >&2; echo "no callgrind dump" >&2; exit 1; }
ir=$(awk '/^summary:/ {print $2}' "$TMP/cg.$PID.1")
[ -z "${KEEP:-}" ] || cp "$TMP/cg.$PID.1" "$KEEP"

# System calls: strace attached to every thread, for the N requests only.
"$@" >"$TMP/out" 2>&1 &
PID=$!
settled
load "$WARMUP"
tids=()
for t in /proc/"$PID"/task/*; do tids+=(-p "${t##*/}"); done
strace -f -c -o "$TMP/strace" "${tids[@]}" 2>/dev/null &
SPID=$!
sleep 1
load "$N"
kill -INT "$SPID"
wait "$SPID" 2>/dev/null || true
SPID=""
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=""
calls=$(awk '$NF == "total" {print $4}' "$TMP/strace")
awk -v ir="$ir" -v calls="${calls:-0}" -v n="$N" 'BEGIN { printf "%.0f %.1f\n", ir / n, calls / n }'
