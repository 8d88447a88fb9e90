#!/usr/bin/env bash
# `make bench`: our servers against nginx, the Node stack they replace, and PostgreSQL's own
# ceiling, on this machine, in one run: every server runs every scenario once per round, in an
# order rotated each round; medians and ratios. Three parts:
#   - static, production configuration (RUST_LOG=info, JSON access log to a file) against nginx
#     with an equivalent JSON access_log, and the same with logs off;
#   - the API (login, GET /accounts, GET /transactions, POST /transactions) against an
#     express + pg peer on the same database, plus pgbench running the same queries;
#   - memory, exec-to-first-200 startup, binary sizes, db-migrate times and (if built) images.
#
# Loopback only, bounded (every load run has a fixed duration), and every process it starts is
# stopped on exit. Writes a markdown report to bench/results/latest.md (bench/to_benchmarks.py
# copies its marked sections into BENCHMARKS.md: `make bench-doc`).
#
# Knobs (environment):
#   BENCH_ROUNDS=3 BENCH_DURATION=5s BENCH_CONNECTIONS=64 BENCH_THREADS=2
#   BENCH_PIN=1 (default with 2+ CPUs): the static servers run pinned to the last CPU with one
#     worker, wrk (BENCH_STATIC_THREADS=1 thread) on the others, so a static server's CPU is its
#     own and req/s is what one core serves; BENCH_PIN=0: nothing pinned, one worker per CPU.
#     The API part is never pinned (server, PostgreSQL and wrk share the CPUs, as deployed).
#   BENCH_API_CONNECTIONS=64 (wrk against the API) BENCH_DB_CONNECTIONS=10 (the backend's pool
#     size, split across the Node workers too, and pgbench's clients)
#   BENCH_PARTS="static api instructions" (any of them; instructions: bench/instructions.sh,
#     user-space instructions and system calls per request, exact on a busy machine too)
#   BENCH_INSTR_REQUESTS=1000 (requests counted per instructions measurement)
#   BENCH_PROFILES="release image" (Cargo profiles of our binaries; the first is the headline,
#     the others are extra rows "(profile P)" in the logs-off and API tables)
#   BENCH_QUICK=1 (smoke run: 1 round of 1 s, 3 startup runs; any knob set explicitly wins)
#   BENCH_STARTUP_RUNS=20 BENCH_MIGRATE_RUNS=5
#   BENCH_SITE=marketing (a site of sites/layout.py, exported as marketing-server serves it)
#   BENCH_SKIP_BUILD=1 (use the binaries already built)
#   BENCH_OUT=bench/results/latest.md  PG_BIN=/usr/lib/postgresql/15/bin
#   BENCH_NODE_PATH (default /usr/share/nodejs plus node-pg unpacked by `make bench-deps`)
# Needs (`make bench-deps` installs them): wrk, nginx-light, node-express, node-pg (unpacked,
# see bench/node-peer/README.md), PostgreSQL server binaries, psql and pgbench, python3, curl, gzip.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${BENCH_QUICK:-}" ]; then
  : "${BENCH_ROUNDS:=1}" "${BENCH_DURATION:=1s}" "${BENCH_STARTUP_RUNS:=3}" "${BENCH_MIGRATE_RUNS:=1}"
fi
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
API_CONNS=${BENCH_API_CONNECTIONS:-64}
NCPU=$(nproc)
PIN=${BENCH_PIN:-$([ "$NCPU" -ge 2 ] && echo 1 || echo 0)}
if [ "$PIN" = 1 ]; then
  SERVER_CPU=$((NCPU - 1))
  STATIC_THREADS=${BENCH_STATIC_THREADS:-1}
  # The static servers' command prefix, and wrk's for the static scenarios.
  PIN_SERVER=(taskset -c "$SERVER_CPU") PIN_CLIENT=(taskset -c "0-$((NCPU - 2))")
else
  STATIC_THREADS=${BENCH_STATIC_THREADS:-$THREADS}
  PIN_SERVER=() PIN_CLIENT=()
fi
DB_CONNS=${BENCH_DB_CONNECTIONS:-10}
PARTS=${BENCH_PARTS:-static api instructions}
read -r -a PROFILES <<<"${BENCH_PROFILES:-release image}"
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-20}
MIGRATE_RUNS=${BENCH_MIGRATE_RUNS:-5}
SITE_NAME=${BENCH_SITE:-marketing}
OUT=${BENCH_OUT:-$ROOT/bench/results/latest.md}
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
NODE_PATH_BENCH=${BENCH_NODE_PATH:-/usr/share/nodejs:$ROOT/.build/node-pg/usr/share/nodejs}
JWT_SECRET_BENCH="bench-only-secret-0123456789abcdef0123456789"
# What produced the report, written into it.
COMMAND="BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_CONNECTIONS=$CONNS BENCH_THREADS=$THREADS BENCH_PIN=$PIN BENCH_STATIC_THREADS=$STATIC_THREADS BENCH_API_CONNECTIONS=$API_CONNS BENCH_DB_CONNECTIONS=$DB_CONNS BENCH_PARTS=\"$PARTS\" BENCH_PROFILES=\"${PROFILES[*]}\" bench/run.sh"
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk nginx curl python3 gzip psql pgbench node taskset; do
  command -v "$tool" >/dev/null || die "$tool not found: run \`make bench-deps\`"
done
NODE_PATH="$NODE_PATH_BENCH" node -e 'require("express"); require("pg")' 2>/dev/null \
  || die "node cannot load express and pg (NODE_PATH=$NODE_PATH_BENCH): run \`make bench-deps\`"

# One throwaway PostgreSQL (fsync on, as a real server) for the whole run: the script re-runs
# itself under test-support's `with-postgres`, which the tests and `make sqlx-prepare` use too. It
# sets DATABASE_URL and removes the cluster however the run ends.
if [ -z "${BENCH_UNDER_WITH_POSTGRES:-}" ]; then
  export BENCH_UNDER_WITH_POSTGRES=1
  cd "$ROOT"
  if [ -n "${BENCH_SKIP_BUILD:-}" ] && [ -x "$TARGET_DIR/debug/with-postgres" ]; then
    exec "$TARGET_DIR/debug/with-postgres" --durable -- "$ROOT/bench/run.sh" "$@"
  fi
  exec $CARGO run --quiet --locked -p test-support --bin with-postgres -- \
    --durable -- "$ROOT/bench/run.sh" "$@"
fi
PG_URL=${DATABASE_URL%/*}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

TMP=$(mktemp -d /tmp/bench.XXXXXX)
chmod 755 "$TMP" # nginx workers (nobody) must reach their directories
declare -A PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for name in "${!PIDS[@]}"; do
    kill -TERM "${PIDS[$name]}" 2>/dev/null || true
  done
  for name in "${!PIDS[@]}"; do
    local pid=${PIDS[$name]}
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME CMD... : background process with its output (the access log too) appended to
# $TMP/NAME.log; appended, so that truncating it between load runs (disk space) works.
start() {
  local name=$1; shift
  "$@" >>"$TMP/$name.log" 2>&1 &
  PIDS[$name]=$!
}

wait_200() { # URL NAME
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    kill -0 "${PIDS[$2]}" 2>/dev/null || { cat "$TMP/$2.log" >&2; die "$2 exited during start-up"; }
    sleep 0.05
  done
  cat "$TMP/$2.log" >&2
  die "$2 did not answer 200 on $1"
}

# A process and its children (nginx master + workers, node cluster), whose figures are summed.
family() { echo "$1" $(pgrep -P "$1" || true); }
# Resident memory of a process family, in KiB.
mem_kb() { # PID FIELD(VmRSS|VmHWM)
  local total=0 p v
  for p in $(family "$1"); do
    v=$(awk -v f="$2:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
# CPU time (user+system; /proc/PID/stat counts every thread) of a process family, in clock ticks.
# The root's figure includes its exited children (cutime+cstime): PostgreSQL's backends for
# pgbench's connections have exited by the time a run is read.
cpu_ticks() { family_ticks "$1" '$14 + $15 + $16 + $17' '$14 + $15'; }
# The system (kernel) part of it: stime (+ cstime of the root).
sys_ticks() { family_ticks "$1" '$15 + $17' '$15'; }
family_ticks() { # PID ROOT-SUM CHILD-SUM (awk sums of /proc/PID/stat fields)
  local total p v
  total=$(awk "{print $2}" "/proc/$1/stat" 2>/dev/null || echo 0)
  for p in $(pgrep -P "$1" || true); do
    v=$(awk "{print $3}" "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "n/a"} else if(NR%2){print a[(NR+1)/2]} else {printf "%.2f\n",(a[NR/2]+a[NR/2+1])/2}}'; }
now_ns() { date +%s%N; }
label() {
  case $1 in
    *+*) echo "$(label "${1%+*}") (profile ${1#*+})" ;;
    marketing) echo marketing-server ;;
    marketing_log) echo "marketing-server, access log" ;;
    marketing_nometrics) echo "marketing-server, metrics off" ;;
    backend_nometrics) echo "backend, metrics off" ;;
    backend_log|backend_api) echo "backend, access log" ;;
    marketing_idle) echo "marketing-server, as deployed (idle only)" ;;
    nginx_log) echo "nginx, JSON access_log" ;;
    nginx_nosf) echo "nginx, sendfile off" ;;
    nginx_bare) echo "nginx, no added headers" ;;
    node) echo "node (express)" ;;
    node_api) echo "node (express + pg)" ;;
    pgbench) echo "pgbench (same SQL)" ;;
    *) echo "$1" ;;
  esac
}
# Binary NAME of profile P (release is target/release; others target/P).
bin() { echo "$TARGET_DIR/$2/$1"; }
seconds() { awk -v d="$1" 'BEGIN{sub(/s$/,"",d); printf "%d", d}'; }
# wrk's latency ("812.00us", "1.20ms", "2.01s") in ms.
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f\n", v }'; }


# ---------------------------------------------------------------------------------------------
REL=$TARGET_DIR/${PROFILES[0]}
declare -A BUILD_S=()
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  for p in "${PROFILES[@]}"; do
    log "building the binaries (profile $p)"
    T0=$(now_ns)
    # The start-up timer (the bench crate) runs from the headline profile only.
    bench_pkg=(); [ "$p" != "${PROFILES[0]}" ] || bench_pkg=(-p bench)
    (cd "$ROOT" && $CARGO build --profile "$p" --locked -p marketing-server -p backend -p tools "${bench_pkg[@]}")
    BUILD_S[$p]=$(awk -v d=$(( $(now_ns) - T0 )) 'BEGIN{printf "%.0f", d/1e9}')
  done
fi
for p in "${PROFILES[@]}"; do
  for b in marketing-server backend tools; do [ -x "$(bin "$b" "$p")" ] || die "missing $(bin "$b" "$p")"; done
done
[ -x "$REL/startup-time" ] || die "missing $REL/startup-time"

# The site, once, as marketing-server serves it (its directories merged, the pages' includes
# resolved: nginx serves files as they are), with .gz siblings so nginx's gzip_static has
# something to send. Both servers serve this same directory (marketing-server also prefers
# precompressed siblings). The large-file case gets its own fixture (bench/large_js.py), so it
# measures the same thing whatever the site's own scripts weigh; it is named like a
# content-hashed asset, as the site's are.
SITE=$TMP/site
python3 "$ROOT/sites/layout.py" export "$SITE_NAME" "$SITE" || die "cannot export the $SITE_NAME site"
mkdir -p "$SITE/assets"
python3 "$ROOT/bench/large_js.py" >"$TMP/large.js"
JS_FILE=./assets/bench-large.$(sha256sum "$TMP/large.js" | cut -c1-10).js
mv "$TMP/large.js" "$SITE/$JS_FILE"
find "$SITE" -type f \( -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.svg' \
  -o -name '*.json' -o -name '*.txt' -o -name '*.xml' -o -name '*.mjs' \) -exec gzip -9 -k -f {} +
chmod -R a+rX "$SITE"
JS_PATH=${JS_FILE#.}
JS_KB=$(( $(stat -c %s "$SITE/$JS_FILE") / 1024 ))
JS_GZ_KB=$(( $(stat -c %s "$SITE/$JS_FILE.gz") / 1024 ))

# ---------------------------------------------------------------------------------------------
psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/postgres" -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
PG_VERSION=$(psql -X -At "$PG_URL/postgres" -c 'SHOW server_version' | awk '{print $1}')

log "db-migrate timings ($MIGRATE_RUNS runs each)"
migrate() { # DB -> elapsed ms
  local t0 t1
  t0=$(now_ns)
  DATABASE_URL="$PG_URL/$1" RUST_LOG=warn "$REL/tools" db-migrate >>"$TMP/migrate.log" 2>&1 \
    || { cat "$TMP/migrate.log" >&2; die "db-migrate failed"; }
  t1=$(now_ns)
  awk -v d=$((t1 - t0)) 'BEGIN{printf "%.1f\n", d/1e6}'
}
: >"$TMP/migrate-empty" ; : >"$TMP/migrate-noop"
for i in $(seq "$MIGRATE_RUNS"); do
  psql_admin "DROP DATABASE IF EXISTS bench_empty"
  psql_admin "CREATE DATABASE bench_empty"
  migrate bench_empty >>"$TMP/migrate-empty"
done
psql_admin "CREATE DATABASE bench"
migrate bench >/dev/null
for i in $(seq "$MIGRATE_RUNS"); do migrate bench >>"$TMP/migrate-noop"; done
MIGRATE_EMPTY=$(median <"$TMP/migrate-empty")
MIGRATE_NOOP=$(median <"$TMP/migrate-noop")

# ---------------------------------------------------------------------------------------------
# The API's data: the demo user (db-migrate --seed) plus bench/api/seed.sql. The Node peer's
# login user gets the same password as an scrypt hash (Debian has no argon2 module for Node).
log "seeding the API data"
DATABASE_URL="$PG_URL/bench" RUST_LOG=warn "$REL/tools" db-migrate --seed >>"$TMP/migrate.log" 2>&1 \
  || { cat "$TMP/migrate.log" >&2; die "db-migrate --seed failed"; }
DEMO_PASSWORD=demo-password
NODE_HASH=$(python3 -c 'import base64, hashlib, sys
salt = b"bench-fixed-salt"
h = hashlib.scrypt(sys.argv[1].encode(), salt=salt, n=16384, r=8, p=1, maxmem=64 << 20, dklen=32)
print("$scrypt$N=16384,r=8,p=1$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(h).decode())' "$DEMO_PASSWORD")
PGOPTIONS="-c client_min_messages=warning" psql -q -X "$PG_URL/bench" -v node_hash="$NODE_HASH" \
  -f "$ROOT/bench/api/seed.sql" >/dev/null
READER_ID=$(psql -X -At "$PG_URL/bench" -c "SELECT id FROM users WHERE email = 'demo@example.com'")
WRITER_ID=00000000-0000-4000-8005-000000000001
WRITER_DEBIT=00000000-0000-4000-8005-000000000011
WRITER_CREDIT=00000000-0000-4000-8005-000000000012
# The demo user's "Checking" account (tools' seed), the filter of the transactions page.
FILTER_ACCOUNT=00000000-0000-4000-8000-000100000001
TX_COUNT=$(psql -X -At "$PG_URL/bench" -c "SELECT count(*) FROM transactions WHERE user_id = '$READER_ID'")
ACC_COUNT=$(psql -X -At "$PG_URL/bench" -c "SELECT count(*) FROM accounts WHERE user_id = '$READER_ID'")
PG_DATA=$(psql -X -At "$PG_URL/postgres" -c 'SHOW data_directory')
PG_PID=$(head -n1 "$PG_DATA/postmaster.pid")

# ---------------------------------------------------------------------------------------------
log "exec-to-first-200 ($STARTUP_RUNS runs each)"
SVC_ENV=(LOG_FORMAT=json SHUTDOWN_DRAIN_SECONDS=0 SHUTDOWN_TIMEOUT_SECONDS=2)
# The login limits are per client address (every wrk connection comes from 127.0.0.1) and per
# account (every login is the demo user's): both raised, or the run measures fast 429s.
BACKEND_ENV=(DATABASE_URL="$PG_URL/bench" JWT_SECRET="$JWT_SECRET_BENCH" SUBSCRIPTIONS_ENABLED=false
  DATABASE_MAX_CONNECTIONS="$DB_CONNS" LOGIN_ATTEMPTS_PER_MINUTE=4000000000
  LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE=4000000000)
# Metrics off for these (METRICS_PORT=0): the runs follow each other on one fixed port otherwise.
STARTUP_MARKETING=$(env "${SVC_ENV[@]}" METRICS_PORT=0 RUST_LOG=warn SITE_DIR="$SITE" "$REL/startup-time" "$STARTUP_RUNS" "$REL/marketing-server")
STARTUP_BACKEND=$(env "${SVC_ENV[@]}" METRICS_PORT=0 RUST_LOG=warn "${BACKEND_ENV[@]}" "$REL/startup-time" "$STARTUP_RUNS" "$REL/backend")
STARTUP_NODE=$(NODE_PATH="$NODE_PATH_BENCH" SITE_DIR="$SITE" "$REL/startup-time" 5 node "$ROOT/bench/node-peer/server.js")

# ---------------------------------------------------------------------------------------------
# User-space instructions and system calls per request (bench/instructions.sh: callgrind, then
# strace; one worker, one keep-alive client, N requests): unlike CPU seconds they do not depend
# on the load, so they show exactly what logging and metrics cost and where we stand against
# nginx in user space. Run before the servers below start, one process at a time.
declare -A INSTR=()
# The rows the ratios and targets below read (INSTR is keyed by these labels).
IR_MS="marketing-server, access log" IR_MS_NOMETRICS="marketing-server, access log, metrics off"
IR_MS_OFF="marketing-server, logs off" IR_BE="backend, access log"
IR_BE_NOMETRICS="backend, access log, metrics off" IR_NGINX_LOG="nginx, JSON access_log"
IR_NGINX="nginx, logs off"
INSTR_ROWS=()
INSTR_N=${BENCH_INSTR_REQUESTS:-1000}
if has_part instructions; then
  # ours_instr ROW BINARY PROFILE RUST_LOG METRICS(on|off) [ENV...]: INSTR[ROW.COLUMN] for every
  # column the server serves ("INSTRUCTIONS SYSCALLS").
  ours_instr() {
    local row=$1 binary=$2 profile=$3 level=$4 metrics=$5; shift 5
    INSTR_ROWS+=("$row")
    local cols=("index|/|" "js_gzip|$JS_PATH|gzip" "healthz|/healthz|")
    [ "$binary" = backend ] && cols=("healthz|/healthz|")
    local c col path enc port mport
    for c in "${cols[@]}"; do
      IFS='|' read -r col path enc <<<"$c"
      port=$(free_port); mport=0; [ "$metrics" = off ] || mport=$(free_port)
      log "instructions: $row, $col"
      INSTR[$row.$col]=$(env "${SVC_ENV[@]}" "$@" HOST=127.0.0.1 PORT="$port" WORKERS=1 \
        RUST_LOG="$level" METRICS_PORT="$mport" N="$INSTR_N" \
        "$ROOT/bench/instructions.sh" "$path" "$enc" "$(bin "$binary" "$profile")") \
        || die "bench/instructions.sh failed: $row, $col"
    done
  }
  nginx_instr() { # ROW [SED-EXPR]: bench/nginx.conf as one process (no master), one worker
    local row=$1 c col path enc port
    INSTR_ROWS+=("$row")
    for c in "index|/|" "js_gzip|$JS_PATH|gzip" "healthz|/healthz|"; do
      IFS='|' read -r col path enc <<<"$c"
      port=$(free_port)
      rm -rf "$TMP/instr-nginx"; mkdir -p "$TMP/instr-nginx/tmp"
      sed -e "s#@PREFIX@#$TMP/instr-nginx#g; s#@PORT@#$port#g; s#@ROOT@#$SITE#g" \
        -e 's/^master_process on;/master_process off;/; s/^worker_processes auto;/worker_processes 1;/' \
        -e "${2:-}" "$ROOT/bench/nginx.conf" >"$TMP/instr-nginx/nginx.conf"
      log "instructions: $row, $col"
      INSTR[$row.$col]=$(PORT=$port N="$INSTR_N" "$ROOT/bench/instructions.sh" "$path" "$enc" \
        "$(command -v nginx)" -p "$TMP/instr-nginx" -c "$TMP/instr-nginx/nginx.conf") \
        || die "bench/instructions.sh failed: $row, $col"
    done
  }
  ours_instr "$IR_MS" marketing-server "${PROFILES[0]}" info on SITE_DIR="$SITE"
  ours_instr "$IR_MS_NOMETRICS" marketing-server "${PROFILES[0]}" info off SITE_DIR="$SITE"
  ours_instr "$IR_MS_OFF" marketing-server "${PROFILES[0]}" warn on SITE_DIR="$SITE"
  ours_instr "$IR_BE" backend "${PROFILES[0]}" info on "${BACKEND_ENV[@]}"
  ours_instr "$IR_BE_NOMETRICS" backend "${PROFILES[0]}" info off "${BACKEND_ENV[@]}"
  for p in "${PROFILES[@]:1}"; do
    ours_instr "marketing-server, access log (profile $p)" marketing-server "$p" info on SITE_DIR="$SITE"
    ours_instr "backend, access log (profile $p)" backend "$p" info on "${BACKEND_ENV[@]}"
  done
  nginx_instr "$IR_NGINX_LOG" "s#access_log off; \# access-log#access_log $TMP/instr-nginx/access.log bench_json buffer=64k flush=1s;#; s/#request-id //"
  nginx_instr "$IR_NGINX"
fi

# ---------------------------------------------------------------------------------------------
log "starting servers"
declare -A PORT=()
# How the servers started next run: PREFIX (a command prefix: taskset or nothing), WORKERS_ENV
# (ours: WORKERS=1 when pinned), NGINX_WORKERS and NODE_WORKERS_ENV likewise.
pinned() {
  if [ "$PIN" = 1 ]; then
    PREFIX=("${PIN_SERVER[@]}") WORKERS_ENV=(WORKERS=1) NGINX_WORKERS=1 NODE_WORKERS_ENV=(NODE_WORKERS=1)
  else
    unpinned
  fi
}
unpinned() { PREFIX=() WORKERS_ENV=() NGINX_WORKERS=auto NODE_WORKERS_ENV=(); }
unpinned
# ours NAME BINARY PROFILE RUST_LOG [ENV...]
ours() {
  local name=$1 binary=$2 profile=$3 level=$4; shift 4
  PORT[$name]=$(free_port)
  # /metrics on a port of its own, as in production (one metrics port per server here).
  start "$name" "${PREFIX[@]}" env "${SVC_ENV[@]}" "${WORKERS_ENV[@]}" RUST_LOG="$level" \
    METRICS_PORT="$(free_port)" "$@" HOST=127.0.0.1 PORT="${PORT[$name]}" "$(bin "$binary" "$profile")"
}
# start_nginx NAME [SED-EXPR]: bench/nginx.conf rendered for NAME, optionally edited by SED-EXPR.
start_nginx() {
  PORT[$1]=$(free_port)
  mkdir -p "$TMP/$1/tmp"
  sed -e "s#@PREFIX@#$TMP/$1#g; s#@PORT@#${PORT[$1]}#g; s#@ROOT@#$SITE#g" -e "${2:-}" \
    -e "s/^worker_processes auto;/worker_processes $NGINX_WORKERS;/" \
    "$ROOT/bench/nginx.conf" >"$TMP/$1/nginx.conf"
  start "$1" "${PREFIX[@]}" nginx -p "$TMP/$1" -c "$TMP/$1/nginx.conf"
}
P0=${PROFILES[0]}
SERVERS=()
if has_part static; then
  pinned
  # The production configuration: the access log at info, JSON to stdout (a file here, as the
  # container runtime's log file is), against nginx logging the same fields to a file.
  ours marketing marketing-server "$P0" warn SITE_DIR="$SITE"
  ours marketing_log marketing-server "$P0" info SITE_DIR="$SITE"
  ours backend backend "$P0" warn "${BACKEND_ENV[@]}"
  # Metrics off (METRICS_PORT=0: no listener, nothing recorded): what recording them costs.
  ours marketing_nometrics marketing-server "$P0" warn SITE_DIR="$SITE" METRICS_PORT=0
  ours backend_nometrics backend "$P0" warn "${BACKEND_ENV[@]}" METRICS_PORT=0
  start_nginx nginx
  start_nginx nginx_log "s#access_log off; \# access-log#access_log $TMP/nginx_log/access.log bench_json buffer=64k flush=1s;#; s/#request-id //"
  # The same nginx with sendfile off: how much of nginx's large-file result is zero-copy.
  start_nginx nginx_nosf 's#sendfile on;#sendfile off;#'
  # Without the security/cache headers marketing-server sends (~450 bytes less per answer),
  # for reference: the ratios compare servers sending the same headers.
  start_nginx nginx_bare '/# added-headers-begin/,/# added-headers-end/d'
  PORT[node]=$(free_port)
  start node "${PREFIX[@]}" env "${NODE_WORKERS_ENV[@]}" NODE_PATH="$NODE_PATH_BENCH" SITE_DIR="$SITE" HOST=127.0.0.1 PORT="${PORT[node]}" node "$ROOT/bench/node-peer/server.js"
  ours backend_log backend "$P0" info "${BACKEND_ENV[@]}"
  SERVERS+=(marketing marketing_log backend backend_log marketing_nometrics backend_nometrics nginx nginx_log nginx_nosf nginx_bare node)
  for p in "${PROFILES[@]:1}"; do
    ours "marketing+$p" marketing-server "$p" warn SITE_DIR="$SITE"
    ours "backend+$p" backend "$p" warn "${BACKEND_ENV[@]}"
    SERVERS+=("marketing+$p" "backend+$p")
  done
  unpinned
  # Idle memory as deployed (one worker per CPU, access log on), whatever the pinning: not loaded.
  ours marketing_idle marketing-server "$P0" info SITE_DIR="$SITE"
  SERVERS+=(marketing_idle)
fi
if has_part api; then
  # As deployed: one worker per CPU, sharing the CPUs with PostgreSQL and wrk.
  ours backend_api backend "$P0" info "${BACKEND_ENV[@]}"
  SERVERS+=(backend_api)
  PORT[node_api]=$(free_port)
  start node_api env NODE_PATH="$NODE_PATH_BENCH" DATABASE_URL="$PG_URL/bench" JWT_SECRET="$JWT_SECRET_BENCH" \
    DATABASE_MAX_CONNECTIONS="$DB_CONNS" HOST=127.0.0.1 PORT="${PORT[node_api]}" node "$ROOT/bench/node-peer/api.js"
  SERVERS+=(node_api)
  for p in "${PROFILES[@]:1}"; do
    ours "backend_api+$p" backend "$p" info "${BACKEND_ENV[@]}"
    SERVERS+=("backend_api+$p")
  done
fi
for s in "${SERVERS[@]}"; do wait_200 "http://127.0.0.1:${PORT[$s]}/healthz" "$s"; done
if has_part static; then
  # One request for each file first, so "idle" includes whatever a server loads lazily.
  for s in "${SERVERS[@]}"; do
    case $s in backend*|node_api) continue ;; esac
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$s]}/"
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:${PORT[$s]}$JS_PATH"
  done
fi
# Idle = once RSS has settled (unchanged for 1 s; at most 15 s): marketing-server compresses
# the site in the background after it starts answering, and that transient is not "idle".
declare -A IDLE=() LOADMAX=()
for s in "${SERVERS[@]}"; do
  prev=-1
  for _ in $(seq 15); do
    cur=$(mem_kb "${PIDS[$s]}" VmRSS)
    [ "$cur" = "$prev" ] && break
    prev=$cur
    sleep 1
  done
  IDLE[$s]=$cur
  LOADMAX[$s]=0
done

# ---------------------------------------------------------------------------------------------
RES=$TMP/results
mkdir -p "$RES" "$TMP/pgb"
key() { echo "$1" | tr ' /.' '___'; }
HZ=$(getconf CLK_TCK)
# Where a server's access log goes (ours: stdout; nginx_log: its access_log file).
logfile() { case $1 in nginx_log) echo "$TMP/nginx_log/access.log" ;; nginx*|node*) ;; *) echo "$TMP/$1.log" ;; esac; }
# per_request TICKS REQUESTS -> CPU microseconds per request
per_request() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN{ if (n > 0) printf "%.2f\n", t * 1e6 / hz / n; else print "n/a" }'; }

# run_wrk static|api SERVER KEY CONNECTIONS URL [WRK ARGS...]: one load run; appends its figures
# to $RES. Static runs: wrk pinned to the client CPUs with STATIC_THREADS (when BENCH_PIN=1).
run_wrk() {
  local mode=$1 s=$2 k=$3 c=$4 url=$5; shift 5
  local client=() threads=$THREADS
  [ "$mode" = api ] || { client=("${PIN_CLIENT[@]}"); threads=$STATIC_THREADS; }
  local out=$TMP/wrk.out lf n sample
  lf=$(logfile "$s")
  [ -z "$lf" ] || [ ! -f "$lf" ] || : >"$lf"
  local t0 d0 t1 d1
  local y0 y1
  t0=$(cpu_ticks "${PIDS[$s]}"); y0=$(sys_ticks "${PIDS[$s]}"); d0=$(cpu_ticks "$PG_PID")
  "${client[@]}" wrk -t"$threads" -c"$c" -d"$DURATION" --latency "$@" "$url" >"$out" 2>&1 &
  local wpid=$!
  sleep "$(awk -v d="$(seconds "$DURATION")" 'BEGIN{printf "%.1f", d/2}')"
  sample=$(mem_kb "${PIDS[$s]}" VmRSS)
  [ "$sample" -gt "${LOADMAX[$s]}" ] && LOADMAX[$s]=$sample
  wait "$wpid" || { cat "$out" >&2; die "wrk failed against $s"; }
  t1=$(cpu_ticks "${PIDS[$s]}"); y1=$(sys_ticks "${PIDS[$s]}"); d1=$(cpu_ticks "$PG_PID")
  n=$(awk '/requests in/{print $1}' "$out")
  # Server CPU per request (us): what the server spent, independent of how the CPUs were shared
  # with wrk; far less noisy than req/s on a 2-CPU machine. The database's is separate.
  per_request $((t1 - t0)) "$n" >>"$RES/$k.$s.cpu"
  # Its kernel part (system time: the socket writes, reads and polls inside the system calls).
  per_request $((y1 - y0)) "$n" >>"$RES/$k.$s.sys"
  per_request $((d1 - d0)) "$n" >>"$RES/$k.$s.dbcpu"
  # Failures: non-2xx/3xx answers plus socket errors.
  local failed
  failed=$(awk '/Non-2xx or 3xx responses:/{n+=$NF} /Socket errors:/{gsub(/,/,""); n+=$4+$6+$8+$10} END{print n+0}' "$out")
  echo "$failed" >>"$RES/$k.$s.err"
  # req/s counts successful answers only (wrk's own Requests/sec includes 4xx/5xx: a server
  # answering 429 fast would look fast); "N requests in 5.00s".
  awk -v failed="$failed" '/requests in/{ d = $4; sub(/,$/, "", d); s = d + 0
      if (d ~ /ms$/) s /= 1000; else if (d ~ /m$/) s *= 60
      printf "%.2f\n", ($1 - failed) / s }' "$out" >>"$RES/$k.$s.rps"
  to_ms "$(awk '$1=="50%"{print $2}' "$out")" >>"$RES/$k.$s.p50"
  to_ms "$(awk '$1=="99%"{print $2}' "$out")" >>"$RES/$k.$s.p99"
  # Access-log lines written per request: proof that the logging variants log (and drop nothing).
  if [ -n "$lf" ]; then
    # The last batch of a buffered writer: ours flushes every 20 ms, nginx's buffer every second.
    if [ "$s" = nginx_log ]; then sleep 1.1; else sleep 0.1; fi
    awk -v n="$n" '/"message":"request"/{c++} END{ if (n > 0) printf "%.3f\n", c / n; else print "n/a" }' "$lf" >>"$RES/$k.$s.lines"
    : >"$lf"
  fi
}

# run_pgbench KEY PGBENCH-ARGS...: the same SQL straight from pgbench (prepared
# statements, as sqlx uses), BENCH_DB_CONNECTIONS clients: the database's own ceiling.
run_pgbench() {
  local k=$1; shift
  local out=$TMP/pgbench.out d0 d1 n
  rm -f "$TMP"/pgb/*
  d0=$(cpu_ticks "$PG_PID")
  (cd "$TMP/pgb" && pgbench -n -M prepared -c "$DB_CONNS" -j "$THREADS" -T "$(seconds "$DURATION")" \
    -l --log-prefix=tx "$@" "$PG_URL/bench") >"$out" 2>&1 || { cat "$out" >&2; die "pgbench $k failed"; }
  sleep 0.5 # the postmaster reaps pgbench's backends (their CPU counts once reaped)
  d1=$(cpu_ticks "$PG_PID")
  n=$(cat "$TMP"/pgb/tx* | wc -l)
  per_request $((d1 - d0)) "$n" >>"$RES/$k.pgbench.dbcpu"
  echo n/a >>"$RES/$k.pgbench.cpu"
  awk '/^tps = /{print $3; exit}' "$out" >>"$RES/$k.pgbench.rps"
  # Per-transaction log: client, number, latency (us), ...
  cat "$TMP"/pgb/tx* | awk '{print $3 / 1000}' | sort -g >"$TMP/pgb.lat"
  awk -v q=0.50 '{a[NR]=$1} END{i=int(NR*q); if (i<1) i=1; printf "%.2f\n", a[i]}' "$TMP/pgb.lat" >>"$RES/$k.pgbench.p50"
  awk -v q=0.99 '{a[NR]=$1} END{i=int(NR*q); if (i<1) i=1; printf "%.2f\n", a[i]}' "$TMP/pgb.lat" >>"$RES/$k.pgbench.p99"
  awk '/number of failed transactions:/{print $5; f=1} END{if (!f) print 0}' "$out" >>"$RES/$k.pgbench.err"
}

# Static scenarios: group | name | path | Accept-Encoding (or -) | servers (the first is the
# headline; the group's peer is nginx_log for "prod", nginx for "off").
EXTRA_M=""; EXTRA_B=""
for p in "${PROFILES[@]:1}"; do EXTRA_M+=" marketing+$p"; EXTRA_B+=" backend+$p"; done
STATIC=()
if has_part static; then
  STATIC=(
    "prod|/healthz|/healthz|-|backend_log nginx_log"
    "prod|index.html|/|-|marketing_log nginx_log"
    "prod|JS identity|$JS_PATH|-|marketing_log nginx_log"
    "prod|JS gzip|$JS_PATH|gzip|marketing_log nginx_log"
    "off|/healthz|/healthz|-|backend nginx marketing node$EXTRA_B"
    "off|index.html|/|-|marketing nginx nginx_bare node$EXTRA_M"
    "off|JS identity|$JS_PATH|-|marketing nginx nginx_nosf node$EXTRA_M"
    "off|JS gzip|$JS_PATH|gzip|marketing nginx nginx_nosf node$EXTRA_M"
    # The cost of metrics: metrics on (as deployed) against METRICS_PORT=0, logs off.
    "metrics|/healthz, backend|/healthz|-|backend backend_nometrics"
    "metrics|/healthz, marketing-server|/healthz|-|marketing marketing_nometrics"
    "metrics|index.html|/|-|marketing marketing_nometrics"
  )
fi
peer_of() { case $1 in prod) echo nginx_log ;; *) echo nginx ;; esac; }

# API endpoints: key | label | method | path | body | token variable | servers
EXTRA_API=""
for p in "${PROFILES[@]:1}"; do EXTRA_API+=" backend_api+$p"; done
API=()
if has_part api; then
  READER_LOGIN="{\"email\":\"demo@example.com\",\"password\":\"$DEMO_PASSWORD\"}"
  NODE_LOGIN="{\"email\":\"node-login@example.com\",\"password\":\"$DEMO_PASSWORD\"}"
  WRITER_LOGIN="{\"email\":\"bench-writer@example.com\",\"password\":\"$DEMO_PASSWORD\"}"
  token() { # BODY -> the session token from the backend's login
    curl -s -X POST -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:${PORT[backend_api]}/auth/login" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' || die "login failed: $1"
  }
  READER_TOKEN=$(token "$READER_LOGIN")
  WRITER_TOKEN=$(token "$WRITER_LOGIN")
  TX_PATH="/transactions?account_id=$FILTER_ACCOUNT&from=2026-03-01&to=2026-09-30&limit=50"
  POST_BODY="{\"date\":\"2026-06-01\",\"amount_cents\":1234,\"description\":\"Bench write\",\"debit_account_id\":\"$WRITER_DEBIT\",\"credit_account_id\":\"$WRITER_CREDIT\"}"
  API=(
    "accounts|GET /accounts|GET|/accounts|-|READER_TOKEN|backend_api node_api$EXTRA_API"
    "transactions|GET /transactions (filtered page)|GET|$TX_PATH|-|READER_TOKEN|backend_api node_api$EXTRA_API"
    "post_transaction|POST /transactions|POST|/transactions|$POST_BODY|WRITER_TOKEN|backend_api node_api$EXTRA_API"
    "login|POST /auth/login|POST|/auth/login|LOGIN|-|backend_api node_api$EXTRA_API"
  )
  declare -A PGBENCH_ARGS=(
    [accounts]="-f $ROOT/bench/api/pgbench/accounts.sql -D reader=$READER_ID"
    [transactions]="-f $ROOT/bench/api/pgbench/transactions.sql -D reader=$READER_ID -D account=$FILTER_ACCOUNT -D from=2026-03-01 -D to=2026-09-30"
    [post_transaction]="-f $ROOT/bench/api/pgbench/post_transaction.sql -D writer=$WRITER_ID -D debit=$WRITER_DEBIT -D credit=$WRITER_CREDIT"
    [login]="-f $ROOT/bench/api/pgbench/login.sql -D email=demo@example.com"
  )
fi
api_body() { # BODY SERVER
  if [ "$1" = LOGIN ]; then [ "${2%%+*}" = node_api ] && echo "$NODE_LOGIN" || echo "$READER_LOGIN"
  elif [ "$1" = - ]; then echo ""
  else echo "$1"; fi
}

# What each server actually answers (status, Content-Encoding, bytes): a fast wrong answer is no win.
CHECKS=$TMP/checks.md
: >"$CHECKS"
for sc in "${STATIC[@]}"; do
  IFS='|' read -r group name path enc servers <<<"$sc"
  for s in $servers; do
    hdr=(); [ "$enc" = - ] || hdr=(-H "Accept-Encoding: $enc")
    read -r code size ce < <(curl -s -o /dev/null "${hdr[@]}" -D "$TMP/h" -w '%{http_code} %{size_download} ' \
      "http://127.0.0.1:${PORT[$s]}$path"; awk -F': *' 'tolower($1)=="content-encoding"{gsub("\r","",$2); printf "%s", $2}' "$TMP/h"; echo)
    echo "| $name | $(label "$s") | $code | ${ce:-identity} | $size |" >>"$CHECKS"
  done
done
API_CHECKS=$TMP/api-checks.md
: >"$API_CHECKS"
for sc in "${API[@]}"; do
  IFS='|' read -r k name method path body tokvar servers <<<"$sc"
  for s in $servers; do
    b=$(api_body "$body" "$s")
    args=(-X "$method"); [ -z "$b" ] || args+=(-H 'Content-Type: application/json' -d "$b")
    [ "$tokvar" = - ] || args+=(-H "Authorization: Bearer ${!tokvar}")
    code=$(curl -s -o "$TMP/answer.$k.$s" -w '%{http_code}' "${args[@]}" "http://127.0.0.1:${PORT[$s]}$path")
    echo "| $name | $(label "$s") | $code | $(stat -c %s "$TMP/answer.$k.$s") | $(python3 "$ROOT/bench/api/same_answer.py" "$TMP/answer.$k.backend_api" "$TMP/answer.$k.$s" "$k") |" >>"$API_CHECKS"
  done
done

log "load: $ROUNDS rounds x (${#STATIC[@]} static scenarios + ${#API[@]} API endpoints), ${DURATION} each"
for r in $(seq "$ROUNDS"); do
  for sc in "${STATIC[@]}"; do
    IFS='|' read -r group name path enc servers <<<"$sc"
    read -r -a list <<<"$servers"
    hdr=(); [ "$enc" = - ] || hdr=(-H "Accept-Encoding: $enc")
    # Rotate the order every round so neither side always runs first (warm caches, turbo, noise).
    n=${#list[@]}
    for i in $(seq 0 $((n - 1))); do
      s=${list[$(( (i + r) % n ))]}
      log "round $r/$ROUNDS  $group  $name  $s"
      run_wrk static "$s" "$group.$(key "$name")" "$CONNS" "http://127.0.0.1:${PORT[$s]}$path" "${hdr[@]}"
    done
  done
  for sc in "${API[@]}"; do
    IFS='|' read -r k name method path body tokvar servers <<<"$sc"
    read -r -a list <<<"$servers pgbench"
    n=${#list[@]}
    for i in $(seq 0 $((n - 1))); do
      s=${list[$(( (i + r) % n ))]}
      log "round $r/$ROUNDS  api  $name  $s"
      if [ "$s" = pgbench ]; then
        # shellcheck disable=SC2086 # word splitting of the argument list is intended
        run_pgbench "api.$k" ${PGBENCH_ARGS[$k]}
        continue
      fi
      tok=""; [ "$tokvar" = - ] || tok=${!tokvar}
      BENCH_METHOD=$method BENCH_PATH=$path BENCH_BODY=$(api_body "$body" "$s") BENCH_TOKEN=$tok \
        run_wrk api "$s" "api.$k" "$API_CONNS" "http://127.0.0.1:${PORT[$s]}" -s "$ROOT/bench/api/request.lua"
    done
  done
done

declare -A PEAK=() AFTER=()
for s in "${SERVERS[@]}"; do PEAK[$s]=$(mem_kb "${PIDS[$s]}" VmHWM); AFTER[$s]=$(mem_kb "${PIDS[$s]}" VmRSS); done

# ---------------------------------------------------------------------------------------------
med() { local f=$RES/$1.$2.$3; [ -s "$f" ] && median <"$f" || echo n/a; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "n/a" && b != "n/a" && b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN{ if (v == "n/a") print "n/a"; else if ((dir == ">=" && v+0 >= t+0) || (dir == "<=" && v+0 <= t+0)) print "met"; else print "**missed**" }'; }
with_x() { [ "$1" = n/a ] && echo n/a || echo "${1}x"; }
rx() { with_x "$(ratio "$1" "$2")"; }
fmt_int() { awk -v v="$1" 'BEGIN{ if (v == "n/a") print v; else printf "%.0f", v}'; }
errs() { local f=$RES/$1.$2.err; [ -s "$f" ] && awk '{n+=$1} END{print n+0}' "$f" || echo n/a; }
# Marked sections: bench/to_benchmarks.py copies each into BENCHMARKS.md's section of that name.
section_begin() { echo "<!-- bench:$1 -->"; }
section_end() { echo "<!-- /bench:$1 -->"; }

static_table() { # GROUP
  echo "| scenario | server | req/s | p99 ms | failed | server CPU us/request | of which kernel | vs nginx, req/s | vs nginx, requests per CPU-second | access-log lines/request |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in "${STATIC[@]}"; do
    IFS='|' read -r group name path enc servers <<<"$sc"
    [ "$group" = "$1" ] || continue
    local k="$group.$(key "$name")" peer ngr ngc
    peer=$(peer_of "$group"); ngr=$(med "$k" "$peer" rps); ngc=$(med "$k" "$peer" cpu)
    for s in $servers; do
      local rps cpu lines
      rps=$(med "$k" "$s" rps); cpu=$(med "$k" "$s" cpu); lines=$(med "$k" "$s" lines)
      [ "$lines" != n/a ] || lines=-
      echo "| $name | $(label "$s") | $(fmt_int "$rps") | $(med "$k" "$s" p99) | $(errs "$k" "$s") | $cpu | $(med "$k" "$s" sys) | $(rx "$rps" "$ngr") | $(rx "$ngc" "$cpu") | $lines |"
    done
  done
}

metrics_table() {
  echo "| scenario | server | req/s, metrics on | req/s, metrics off | CPU us/request, metrics on | CPU us/request, metrics off | on / off, CPU per request |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for sc in "${STATIC[@]}"; do
    IFS='|' read -r group name path enc servers <<<"$sc"
    [ "$group" = metrics ] || continue
    local k="metrics.$(key "$name")" on=${servers%% *} off=${servers##* }
    echo "| $name | $(label "$on") | $(fmt_int "$(med "$k" "$on" rps)") | $(fmt_int "$(med "$k" "$off" rps)") | $(med "$k" "$on" cpu) | $(med "$k" "$off" cpu) | $(rx "$(med "$k" "$on" cpu)" "$(med "$k" "$off" cpu)") |"
  done
}

api_table() {
  echo "| endpoint | server | req/s | p50 ms | p99 ms | failed | server CPU us/request | PostgreSQL CPU us/request | vs node, req/s | node p99 / this p99 | vs pgbench, req/s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in "${API[@]}"; do
    IFS='|' read -r k name method path body tokvar servers <<<"$sc"
    local kk="api.$k" nr np pr
    nr=$(med "$kk" node_api rps); np=$(med "$kk" node_api p99); pr=$(med "$kk" pgbench rps)
    for s in $servers pgbench; do
      local rps p99
      rps=$(med "$kk" "$s" rps); p99=$(med "$kk" "$s" p99)
      echo "| $name | $(label "$s") | $(fmt_int "$rps") | $(med "$kk" "$s" p50) | $p99 | $(errs "$kk" "$s") | $(med "$kk" "$s" cpu) | $(med "$kk" "$s" dbcpu) | $(rx "$rps" "$nr") | $(rx "$np" "$p99") | $(rx "$rps" "$pr") |"
    done
  done
}

# INSTR cell: column N (1 instructions, 2 system calls) of ROW.COL, or n/a.
icell() { local v=${INSTR[$1.$2]:-}; [ -n "$v" ] && echo "$v" | awk -v n="$3" '{print $n}' || echo n/a; }
instr_table() {
  echo "| server | index.html: instructions | syscalls | JS gzip: instructions | syscalls | /healthz: instructions | syscalls |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  local row col line
  for row in "${INSTR_ROWS[@]}"; do
    line="| $row |"
    for col in index js_gzip healthz; do line+=" $(icell "$row" "$col" 1) | $(icell "$row" "$col" 2) |"; done
    echo "$line"
  done
  echo
  echo "| ratio (user-space instructions per request) | index.html | JS gzip | /healthz |"
  echo "|---|---:|---:|---:|"
  irow() { # LABEL ROW-A ROW-B [FIELD]: A / B in each column (FIELD 1 instructions, 2 system calls)
    local label=$1 a=$2 b2=$3 f=${4:-1} out="| $1 |"
    for col in index js_gzip healthz; do out+=" $(with_x "$(ratio "$(icell "$a" "$col" "$f")" "$(icell "$b2" "$col" "$f")")") |"; done
    echo "$out"
  }
  irow "marketing-server: access log on / logs off" "$IR_MS" "$IR_MS_OFF"
  irow "marketing-server: metrics on / off (access log on)" "$IR_MS" "$IR_MS_NOMETRICS"
  echo "| backend: metrics on / off (access log on) | - | - | $(with_x "$(ratio "$(icell "$IR_BE" healthz 1)" "$(icell "$IR_BE_NOMETRICS" healthz 1)")") |"
  irow "marketing-server / nginx, both logging" "$IR_MS" "$IR_NGINX_LOG"
  irow "marketing-server / nginx, logs off" "$IR_MS_OFF" "$IR_NGINX"
  echo "| backend / nginx, both logging | - | - | $(with_x "$(ratio "$(icell "$IR_BE" healthz 1)" "$(icell "$IR_NGINX_LOG" healthz 1)")") |"
  irow "system calls per request: marketing-server / nginx, both logging" "$IR_MS" "$IR_NGINX_LOG" 2
}

targets_table() {
  echo "| target | measured | |"
  echo "|---|---|---|"
  local sc group name path enc servers s k v
  for sc in "${STATIC[@]}"; do
    IFS='|' read -r group name path enc servers <<<"$sc"
    s=${servers%% *}; k="$group.$(key "$name")"
    if [ "$group" = metrics ]; then
      v=$(ratio "$(med "$k" "$s" cpu)" "$(med "$k" "${servers##* }" cpu)")
      echo "| $name: metrics cost < 3 % CPU per request (on / off) | $(with_x "$v") | $(verdict "$v" 1.03 '<=') |"
      continue
    fi
    v=$(ratio "$(med "$k" "$(peer_of "$group")" cpu)" "$(med "$k" "$s" cpu)")
    if [ "$group" = prod ]; then
      echo "| $name, access log on: $(label "$s") >= 1.3x nginx (JSON access_log), requests per CPU-second | $(with_x "$v") | $(verdict "$v" 1.3 '>=') |"
    else
      echo "| $name, logs off: $(label "$s") >= 1.1x nginx, requests per CPU-second | $(with_x "$v") | $(verdict "$v" 1.1 '>=') |"
    fi
  done
  if has_part instructions; then
    local col
    for col in index healthz; do
      v=$(ratio "$(icell "$IR_MS" "$col" 1)" "$(icell "$IR_MS_NOMETRICS" "$col" 1)")
      echo "| $( [ "$col" = index ] && echo index.html || echo /healthz ), marketing-server: metrics cost < 3 % user-space instructions per request (on / off, access log on) | $(with_x "$v") | $(verdict "$v" 1.03 '<=') |"
    done
    v=$(ratio "$(icell "$IR_BE" healthz 1)" "$(icell "$IR_BE_NOMETRICS" healthz 1)")
    echo "| /healthz, backend: metrics cost < 3 % user-space instructions per request (on / off, access log on) | $(with_x "$v") | $(verdict "$v" 1.03 '<=') |"
  fi
  for sc in "${API[@]}"; do
    IFS='|' read -r k name method path body tokvar servers <<<"$sc"
    local kk="api.$k"
    v=$(ratio "$(med "$kk" backend_api rps)" "$(med "$kk" node_api rps)")
    echo "| $name: backend >= 5x node req/s | $(with_x "$v") | $(verdict "$v" 5 '>=') |"
    v=$(ratio "$(med "$kk" node_api p99)" "$(med "$kk" backend_api p99)")
    echo "| $name: backend p99 <= 1/5 of node's | node/backend $(with_x "$v") | $(verdict "$v" 5 '>=') |"
    case $k in accounts|transactions)
      v=$(ratio "$(med "$kk" backend_api rps)" "$(med "$kk" pgbench rps)")
      echo "| $name: backend >= 0.7x pgbench with the same SQL | $(with_x "$v") | $(verdict "$v" 0.7 '>=') |" ;;
    esac
  done
  # Issue #17: idle RSS stays at least as good as before it: the first `make bench` (commit
  # 5e9de59) measured 21.3 MiB (marketing-server) and 20.3 MiB (backend); 5 % allowed for noise.
  local base
  for s in marketing_idle backend_api; do
    [ -n "${IDLE[$s]:-}" ] || continue
    v=$(mib "${IDLE[$s]}")
    case $s in marketing*) base=21.3 ;; *) base=20.3 ;; esac
    echo "| idle RSS no worse than before #17 ($base MiB + 5 %), $(label "$s") | $v MiB | $(verdict "$v" "$(awk -v b=$base 'BEGIN{printf "%.1f", b * 1.05}')" '<=') |"
  done
  # Target 3, from the last `make bench-rebuild` (bench/results/rebuild.md), its release rows.
  if [ -f "$ROOT/bench/results/rebuild.md" ]; then
    local file secs
    while IFS='|' read -r file secs; do
      echo "| image rebuild (\`make images\`) after a one-line edit of $file <= 120 s (release profile; \`make bench-rebuild\`) | $secs s | $(verdict "$secs" 120 '<=') |"
    done < <(awk -F'|' '$2 ~ /^ *release *$/ && $4 ~ /s *$/ { f = $3; t = $4; gsub(/^ +| +$/, "", f); gsub(/[^0-9]/, "", t); print f "|" t }' "$ROOT/bench/results/rebuild.md")
  fi
  v=$(echo "$STARTUP_MARKETING" | cut -d' ' -f1)
  echo "| startup to first 200 <= 50 ms, marketing-server | $v ms | $(verdict "$v" 50 '<=') |"
  v=$(echo "$STARTUP_BACKEND" | cut -d' ' -f1)
  echo "| startup to first 200 <= 50 ms, backend | $v ms | $(verdict "$v" 50 '<=') |"
  echo "| db-migrate no-op <= 100 ms | $MIGRATE_NOOP ms | $(verdict "$MIGRATE_NOOP" 100 '<=') |"
}

{
  echo "# Benchmark results"
  echo
  echo "Generated by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')."
  echo
  section_begin method
  echo "Command: \`$COMMAND\`"
  echo
  echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r); load average before the run: $LOAD_BEFORE"
  echo "- Load: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), \`wrk -t$STATIC_THREADS -c$CONNS -d$DURATION --latency\` (API: \`-t$THREADS -c$API_CONNS\`, bench/api/request.lua with a session JWT), $ROUNDS rounds; in each round every server runs every scenario once, in an order rotated each round; medians. $(if [ "$PIN" = 1 ]; then echo "Static: every server pinned to CPU $SERVER_CPU with one worker (ours WORKERS=1, nginx worker_processes 1, node one worker), wrk pinned to the other CPUs, so req/s is what one core serves"; else echo "Static: nothing pinned, one worker per CPU"; fi); API: nothing pinned, one worker per CPU, the server, PostgreSQL and wrk share the CPUs. **Server CPU per request** (user+system of the server's processes and threads over the run / requests; \"of which kernel\": the system part) is the figure to compare; requests per CPU-second = 10^6 / that"
  echo "- nginx: $(nginx -v 2>&1 | sed 's#.*/##') with bench/nginx.conf (worker_processes auto, sendfile, tcp_nopush, open_file_cache, gzip_static, the security and cache headers marketing-server sends). \"JSON access_log\": \`log_format escape=json\` with the fields of our access-log line to a file, \`buffer=64k flush=1s\`, plus \`X-Request-Id\`; the others \`access_log off\`. /healthz is not logged by either (ours logs it at debug)"
  echo "- Ours: profile ${PROFILES[*]} (Cargo.toml), one HTTP worker thread per CPU (static, pinned: one), LOG_FORMAT=json to a file; \"access log\" = RUST_LOG=info (the production default), otherwise RUST_LOG=warn"
  echo "- Node: $(node -v) + express $(NODE_PATH="$NODE_PATH_BENCH" node -p 'require("express/package.json").version') + pg $(NODE_PATH="$NODE_PATH_BENCH" node -p 'require("pg/package.json").version') (Debian), bench/node-peer, one cluster worker per CPU, no access log"
  echo "- Site: $SITE_NAME (\`sites/layout.py export\`, as served) with \`gzip -9\` siblings; large JS \`$JS_PATH\` from bench/large_js.py ($JS_KB KiB, $JS_GZ_KB KiB gzipped)"
  if has_part api; then
    echo "- API: PostgreSQL $PG_VERSION on loopback (throwaway cluster, fsync on, default settings); reader = demo user with $ACC_COUNT accounts and $TX_COUNT transactions (bench/api/seed.sql), writes go to a second user; backend pool and pgbench clients: $DB_CONNS connections (Node: split across its workers); login limit raised for the run (one client address). pgbench: bench/api/pgbench/*.sql, \`-M prepared -c$DB_CONNS -j$THREADS\`, latency from its per-transaction log"
  fi
  section_end method
  if has_part static; then
    echo
    echo "## Static files, production configuration: access log on (medians of $ROUNDS rounds)"
    echo
    section_begin static-prod
    static_table prod
    section_end static-prod
    echo
    echo "## Static files, logs off (medians of $ROUNDS rounds)"
    echo
    section_begin static-off
    static_table off
    section_end static-off
    echo
    echo "## Cost of metrics: on (as deployed) against METRICS_PORT=0, logs off (medians of $ROUNDS rounds)"
    echo
    section_begin static-metrics
    metrics_table
    section_end static-metrics
    echo
    echo "Each server's answer to the same request (checked with curl before the load):"
    echo
    section_begin static-answers
    echo "| scenario | server | status | Content-Encoding | bytes |"
    echo "|---|---|---:|---|---:|"
    cat "$CHECKS"
    section_end static-answers
  fi
  if has_part instructions; then
    echo
    echo "## User-space instructions and system calls per request (bench/instructions.sh: callgrind and strace, one worker, $INSTR_N keep-alive requests from one client)"
    echo
    section_begin instructions
    instr_table
    section_end instructions
  fi
  if has_part api; then
    echo
    echo "## API (medians of $ROUNDS rounds; the backend with its access log on)"
    echo
    section_begin api
    api_table
    section_end api
    echo
    echo "Answers before the load (the Node peer compared with the backend, bench/api/same_answer.py):"
    echo
    section_begin api-answers
    echo "| endpoint | server | status | bytes | same answer as the backend |"
    echo "|---|---|---:|---:|---|"
    cat "$API_CHECKS"
    section_end api-answers
  fi
  echo
  echo "## Targets"
  echo
  section_begin targets
  targets_table
  section_end targets
  echo
  echo "## Memory (VmRSS / VmHWM from /proc; nginx and node: master + workers summed; idle = settled RSS after start-up)"
  echo
  section_begin memory
  echo "| server | idle RSS MiB | RSS under load MiB (max mid-run sample) | RSS after load MiB | peak (VmHWM) MiB |"
  echo "|---|---:|---:|---:|---:|"
  for s in "${SERVERS[@]}"; do
    echo "| $(label "$s") | $(mib "${IDLE[$s]}") | $(mib "${LOADMAX[$s]}") | $(mib "${AFTER[$s]}") | $(mib "${PEAK[$s]}") |"
  done
  section_end memory
  echo
  echo "## Exec to first 200 on /healthz (bench/startup_time.rs; median, min, max)"
  echo
  section_begin startup
  echo "| server | runs | median ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  echo "| marketing-server | $STARTUP_RUNS | $(echo "$STARTUP_MARKETING" | sed 's/ / | /g') |"
  echo "| backend | $STARTUP_RUNS | $(echo "$STARTUP_BACKEND" | sed 's/ / | /g') |"
  echo "| node (express, cluster) | 5 | $(echo "$STARTUP_NODE" | sed 's/ / | /g') |"
  section_end startup
  echo
  echo "## Binary sizes (stripped)"
  echo
  section_begin sizes
  echo "| binary | profile | bytes | MiB |"
  echo "|---|---|---:|---:|"
  for p in "${PROFILES[@]}"; do
    for b in marketing-server backend tools; do
      sz=$(stat -c %s "$(bin "$b" "$p")")
      echo "| $b | $p | $sz | $(mib $((sz / 1024))) |"
    done
  done
  for p in "${!BUILD_S[@]}"; do
    echo
    echo "\`cargo build --profile $p -p marketing-server -p backend -p tools\` in this run: ${BUILD_S[$p]} s (incremental: depends on what was already built)."
  done
  section_end sizes
  echo
  echo "## db-migrate (tools, PostgreSQL $PG_VERSION on loopback, default settings; process start to exit)"
  echo
  section_begin migrate
  echo "| case | runs | median ms | all runs ms |"
  echo "|---|---:|---:|---|"
  echo "| empty database (all migrations) | $MIGRATE_RUNS | $MIGRATE_EMPTY | $(paste -sd' ' "$TMP/migrate-empty") |"
  echo "| no-op (already migrated) | $MIGRATE_RUNS | $MIGRATE_NOOP | $(paste -sd' ' "$TMP/migrate-noop") |"
  section_end migrate
  echo
  echo "## Images"
  echo
  section_begin images
  DOCKER_BIN=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker || true)
  if [ -n "$DOCKER_BIN" ] && "$DOCKER_BIN" info >/dev/null 2>&1; then
    imgs=$("$DOCKER_BIN" image ls --format '{{.Repository}}:{{.Tag}}|{{.Size}}|{{.CreatedSince}}' \
      | grep -E '(^|/)[^:|]*(backend|marketing|frontend|tools)[^:|]*:' | grep -v '<none>' || true)
    if [ -n "$imgs" ]; then
      echo "| image | size | created |"
      echo "|---|---:|---|"
      echo "$imgs" | sort | awk -F'|' '{printf "| %s | %s | %s |\n", $1, $2, $3}'
    else
      echo "No project images in the local Docker store (\`make images\`, then re-run)."
    fi
  else
    echo "Docker is not available here: no image sizes."
  fi
  if [ -f "$ROOT/bench/results/rebuild.md" ]; then
    echo
    echo "Image rebuild after a one-line edit, as last recorded by \`make bench-rebuild\` (bench/results/rebuild.md):"
    echo
    cat "$ROOT/bench/results/rebuild.md"
  fi
  section_end images
} >"$TMP/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
cat "$OUT"
log "written to $OUT"
