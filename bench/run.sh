#!/usr/bin/env bash
# `make bench`: our servers against nginx (and the Node stack, where Debian's node-express is
# installed) on this machine, in the same run, alternating, several rounds; medians and ratios.
# Also memory, exec-to-first-200 startup, binary sizes, db-migrate times and (if built) images.
#
# Loopback only, bounded (every wrk run has a fixed duration), and every process it starts is
# stopped on exit. Prints a markdown report and writes it to bench/results/latest.md.
#
# Knobs (environment):
#   BENCH_ROUNDS=5 BENCH_DURATION=10s BENCH_CONNECTIONS=64 BENCH_THREADS=2
#   BENCH_STARTUP_RUNS=20 BENCH_MIGRATE_RUNS=5
#   BENCH_SITE=marketing (a site of sites/layout.py, exported as marketing-server serves it)
#   BENCH_SKIP_BUILD=1 (use the release binaries already in target/release)
#   BENCH_OUT=bench/results/latest.md  PG_BIN=/usr/lib/postgresql/15/bin
# Needs: wrk, nginx (apt-get install wrk nginx-light), PostgreSQL server binaries and psql, python3, curl,
# gzip. Optional: node + node-express (Debian) for the Node peer, docker for image sizes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-20}
MIGRATE_RUNS=${BENCH_MIGRATE_RUNS:-5}
SITE_NAME=${BENCH_SITE:-marketing}
OUT=${BENCH_OUT:-$ROOT/bench/results/latest.md}
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
REL=$TARGET_DIR/release
JWT_SECRET_BENCH="bench-only-secret-0123456789abcdef0123456789"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk nginx curl python3 gzip psql; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install wrk nginx-light curl python3 gzip postgresql-client)"
done

# One throwaway PostgreSQL (fsync on, as a real server) for the whole run: the script re-runs
# itself under test-support's `with-postgres`, which the tests and `make sqlx-prepare` use too. It
# sets DATABASE_URL and removes the cluster however the run ends.
if [ -z "${BENCH_UNDER_WITH_POSTGRES:-}" ]; then
  export BENCH_UNDER_WITH_POSTGRES=1
  cd "$ROOT"
  exec $CARGO run --quiet --locked -p test-support --bin with-postgres -- \
    --durable -- "$ROOT/bench/run.sh" "$@"
fi
PG_URL=${DATABASE_URL%/*}

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

# start NAME CMD... : background process with its log in $TMP/NAME.log
start() {
  local name=$1; shift
  "$@" >"$TMP/$name.log" 2>&1 &
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
cpu_ticks() { # PID
  local total=0 p v
  for p in $(family "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "n/a"} else if(NR%2){print a[(NR+1)/2]} else {printf "%.2f\n",(a[NR/2]+a[NR/2+1])/2}}'; }
now_ns() { date +%s%N; }
label() { case $1 in marketing) echo marketing-server ;; node) echo "node (express)" ;;
  marketing_nometrics) echo "marketing-server, metrics off" ;; marketing_info) echo "marketing-server, RUST_LOG=info" ;;
  backend_nometrics) echo "backend, metrics off" ;; backend_info) echo "backend, RUST_LOG=info" ;; nginx_nosf) echo "nginx, sendfile off" ;; nginx_bare) echo "nginx, no added headers" ;; *) echo "$1" ;; esac; }

# ---------------------------------------------------------------------------------------------
log "building release binaries"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  T0=$(now_ns)
  (cd "$ROOT" && $CARGO build --release --locked -p marketing-server -p backend -p tools -p bench)
  BUILD_S=$(awk -v d=$(( $(now_ns) - T0 )) 'BEGIN{printf "%.0f", d/1e9}')
fi
for b in marketing-server backend tools startup-time; do [ -x "$REL/$b" ] || die "missing $REL/$b"; done

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
log "exec-to-first-200 ($STARTUP_RUNS runs each)"
# METRICS_PORT=0 (metrics off) unless a server below is given a port of its own: the default
# port (9090) may be taken on a shared machine.
SVC_ENV=(RUST_LOG=warn LOG_FORMAT=json SHUTDOWN_DRAIN_SECONDS=0 SHUTDOWN_TIMEOUT_SECONDS=2 METRICS_PORT=0)
BACKEND_ENV=(DATABASE_URL="$PG_URL/bench" JWT_SECRET="$JWT_SECRET_BENCH" SUBSCRIPTIONS_ENABLED=false)
STARTUP_MARKETING=$(env "${SVC_ENV[@]}" SITE_DIR="$SITE" "$REL/startup-time" "$STARTUP_RUNS" "$REL/marketing-server")
STARTUP_BACKEND=$(env "${SVC_ENV[@]}" "${BACKEND_ENV[@]}" "$REL/startup-time" "$STARTUP_RUNS" "$REL/backend")

HAVE_NODE=""
if command -v node >/dev/null && NODE_PATH=/usr/share/nodejs node -e 'require("express")' 2>/dev/null; then
  HAVE_NODE=1
  STARTUP_NODE=$(NODE_PATH=/usr/share/nodejs SITE_DIR="$SITE" "$REL/startup-time" 5 node "$ROOT/bench/node-peer/server.js")
else
  log "Node peer skipped: node or Debian's node-express not installed"
fi

# ---------------------------------------------------------------------------------------------
log "starting servers"
declare -A PORT=()
# marketing and backend run as deployed: metrics on (a port of their own), RUST_LOG=warn. For the
# cost of metrics and of the access log: the same with METRICS_PORT=0 (nothing recorded) and
# with RUST_LOG=info (the access log on, written to a file here, a pipe in a container).
# variant NAME EXTRA-ENV...: marketing-server or backend (by NAME's prefix) with EXTRA-ENV.
variant() {
  local name=$1; shift
  PORT[$name]=$(free_port)
  case $name in
    marketing*) start "$name" env "${SVC_ENV[@]}" SITE_DIR="$SITE" HOST=127.0.0.1 PORT="${PORT[$name]}" "$@" "$REL/marketing-server" ;;
    backend*) start "$name" env "${SVC_ENV[@]}" "${BACKEND_ENV[@]}" HOST=127.0.0.1 PORT="${PORT[$name]}" "$@" "$REL/backend" ;;
  esac
}
for app in marketing backend; do
  variant "$app" METRICS_PORT="$(free_port)"
  variant "${app}_nometrics" METRICS_PORT=0
  variant "${app}_info" METRICS_PORT="$(free_port)" RUST_LOG=info
done
# start_nginx NAME [SED-EXPR]: bench/nginx.conf rendered for NAME, optionally edited by SED-EXPR.
start_nginx() {
  PORT[$1]=$(free_port)
  mkdir -p "$TMP/$1/tmp"
  sed -e "s#@PREFIX@#$TMP/$1#g; s#@PORT@#${PORT[$1]}#g; s#@ROOT@#$SITE#g" -e "${2:-}" \
    "$ROOT/bench/nginx.conf" >"$TMP/$1/nginx.conf"
  start "$1" nginx -p "$TMP/$1" -c "$TMP/$1/nginx.conf"
}
start_nginx nginx
# The same nginx with sendfile off: shows how much of nginx's lead on large files is zero-copy.
start_nginx nginx_nosf 's#sendfile on;#sendfile off;#'
# The same nginx without the security/cache headers marketing-server sends: ~450 bytes less
# per answer, shown for reference (the ratios compare servers sending the same headers).
start_nginx nginx_bare '/# added-headers-begin/,/# added-headers-end/d'
if [ -n "$HAVE_NODE" ]; then
  PORT[node]=$(free_port)
  start node env NODE_PATH=/usr/share/nodejs SITE_DIR="$SITE" HOST=127.0.0.1 PORT="${PORT[node]}" node "$ROOT/bench/node-peer/server.js"
fi
SERVERS=(marketing backend marketing_nometrics marketing_info backend_nometrics backend_info
  nginx nginx_nosf nginx_bare ${HAVE_NODE:+node})
for s in "${SERVERS[@]}"; do wait_200 "http://127.0.0.1:${PORT[$s]}/healthz" "$s"; done
# One request for each file first, so "idle" includes whatever a server loads lazily.
for s in marketing nginx nginx_nosf nginx_bare ${HAVE_NODE:+node}; do
  curl -s -o /dev/null "http://127.0.0.1:${PORT[$s]}/"
  curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:${PORT[$s]}$JS_PATH"
done
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
# Scenarios: name | path | Accept-Encoding header (or -) | servers (first entry compared, nginx peer)
SCENARIOS=(
  "healthz|/healthz|-|marketing backend nginx ${HAVE_NODE:+node}"
  "index.html|/|-|marketing nginx nginx_bare ${HAVE_NODE:+node}"
  "js identity|$JS_PATH|-|marketing nginx nginx_nosf ${HAVE_NODE:+node}"
  "js gzip|$JS_PATH|gzip|marketing nginx nginx_bare ${HAVE_NODE:+node}"
)
# The cost of metrics and of the access log: our servers only (compared with themselves).
COST_SCENARIOS=(
  "healthz cost|/healthz|-|marketing marketing_nometrics marketing_info backend backend_nometrics backend_info"
  "index.html cost|/|-|marketing marketing_nometrics marketing_info"
)
RES=$TMP/results
mkdir -p "$RES"
key() { echo "$1" | tr ' /' '__'; }

# What each server actually answers (status, Content-Encoding, bytes): a fast wrong answer is no win.
CHECKS=$TMP/checks.md
for sc in "${SCENARIOS[@]}"; do
  IFS='|' read -r name path enc servers <<<"$sc"
  for s in $servers; do
    hdr=(); [ "$enc" = - ] || hdr=(-H "Accept-Encoding: $enc")
    read -r code size ce < <(curl -s -o /dev/null "${hdr[@]}" -D "$TMP/h" -w '%{http_code} %{size_download} ' \
      "http://127.0.0.1:${PORT[$s]}$path"; awk -F': *' 'tolower($1)=="content-encoding"{gsub("\r","",$2); printf "%s", $2}' "$TMP/h"; echo)
    echo "| $name | $(label "$s") | $code | ${ce:-identity} | $size |" >>"$CHECKS"
  done
done

run_wrk() { # SERVER SCENARIO PATH ENC
  local s=$1 k out half sample
  k=$(key "$2")
  out=$TMP/wrk.out
  local hdr=(); [ "$4" = - ] || hdr=(-H "Accept-Encoding: $4")
  local ticks0 ticks1
  ticks0=$(cpu_ticks "${PIDS[$s]}")
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" "http://127.0.0.1:${PORT[$s]}$3" >"$out" 2>&1 &
  local wpid=$!
  half=$(awk -v d="$DURATION" 'BEGIN{sub(/s$/,"",d); printf "%.1f", d/2}')
  sleep "$half"
  sample=$(mem_kb "${PIDS[$s]}" VmRSS)
  [ "$sample" -gt "${LOADMAX[$s]}" ] && LOADMAX[$s]=$sample
  wait "$wpid" || { cat "$out" >&2; die "wrk failed against $s"; }
  ticks1=$(cpu_ticks "${PIDS[$s]}")
  # Server CPU per request (us): what the server spent, independent of how the CPUs were shared
  # with wrk; far less noisy than req/s on a 2-CPU machine.
  awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" '/requests in/{n=$1} END{ if (n > 0) printf "%.2f\n", t * 1e6 / hz / n; else print "n/a" }' "$out" >>"$RES/$k.$s.cpu"
  awk '/^Requests\/sec:/{print $2}' "$out" >>"$RES/$k.$s.rps"
  awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f\n", v}' "$out" >>"$RES/$k.$s.p99"
  # Failures: non-2xx/3xx answers plus socket errors.
  awk '/Non-2xx or 3xx responses:/{n+=$NF} /Socket errors:/{gsub(/,/,""); n+=$4+$6+$8+$10} END{print n+0}' "$out" >>"$RES/$k.$s.err"
}

log "load: $ROUNDS rounds x $((${#SCENARIOS[@]} + ${#COST_SCENARIOS[@]})) scenarios, wrk -t$THREADS -c$CONNS -d$DURATION"
for r in $(seq "$ROUNDS"); do
  for sc in "${SCENARIOS[@]}" "${COST_SCENARIOS[@]}"; do
    IFS='|' read -r name path enc servers <<<"$sc"
    read -r -a list <<<"$servers"
    # Rotate the order every round so neither side always runs first (warm caches, turbo, noise).
    n=${#list[@]}
    for i in $(seq 0 $((n - 1))); do
      s=${list[$(( (i + r) % n ))]}
      log "round $r/$ROUNDS  $name  $s"
      run_wrk "$s" "$name" "$path" "$enc"
    done
  done
done

declare -A PEAK=() AFTER=()
for s in "${SERVERS[@]}"; do PEAK[$s]=$(mem_kb "${PIDS[$s]}" VmHWM); AFTER[$s]=$(mem_kb "${PIDS[$s]}" VmRSS); done

# ---------------------------------------------------------------------------------------------
med() { median <"$RES/$(key "$1").$2.$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN{ if (v == "n/a") print "n/a"; else if ((dir == ">=" && v+0 >= t+0) || (dir == "<=" && v+0 <= t+0)) print "met"; else print "**missed**" }'; }
fmt_int() { awk -v v="$1" 'BEGIN{printf "%.0f", v}'; }

{
  echo "# Benchmark results"
  echo
  echo "Generated by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo
  echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Load: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), \`wrk -t$THREADS -c$CONNS -d$DURATION --latency\`, $ROUNDS rounds, servers alternated (order rotated each round), loopback, nothing pinned; client and servers share the CPUs"
  echo "- Peers: $(nginx -v 2>&1 | sed 's#.*/##;s#^#nginx #') (bench/nginx.conf: worker_processes auto, sendfile, tcp_nopush, open_file_cache, gzip_static, access_log off, the security and cache headers marketing-server sends added with add_header; \"nginx, sendfile off\" and \"nginx, no added headers\" are the same config without sendfile or without those headers)${HAVE_NODE:+; node $(node -v) + express $(NODE_PATH=/usr/share/nodejs node -p 'require("express/package.json").version') (Debian node-express, bench/node-peer, one worker per CPU)}"
  echo "- Ours: release build (LTO, codegen-units 1), one HTTP worker thread per CPU (WORKERS default), RUST_LOG=warn (no per-request log, like access_log off)"
  echo "- Site: $SITE_NAME (\`sites/layout.py export\`, as served) with \`gzip -9\` siblings; large JS \`$JS_PATH\` from bench/large_js.py ($JS_KB KiB, $JS_GZ_KB KiB gzipped)"
  [ -n "$HAVE_NODE" ] || echo "- Node peer: not run (node or Debian's node-express missing)"
  echo
  echo "## Requests/s and p99 latency (medians of $ROUNDS rounds)"
  echo
  echo "| scenario | server | req/s | p99 ms | failed | vs nginx req/s | server CPU us/request | vs nginx CPU |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r name path enc servers <<<"$sc"
    ng=$(med "$name" nginx rps)
    ngcpu=$(med "$name" nginx cpu)
    for s in $servers; do
      rps=$(med "$name" "$s" rps)
      cpu=$(med "$name" "$s" cpu)
      errs=$(awk '{n+=$1} END{print n+0}' "$RES/$(key "$name").$s.err")
      echo "| $name | $(label "$s") | $(fmt_int "$rps") | $(med "$name" "$s" p99) | $errs | $(ratio "$rps" "$ng")x | $cpu | $(ratio "$cpu" "$ngcpu")x |"
    done
  done
  echo
  echo "## Cost of metrics and of the access log (medians of $ROUNDS rounds)"
  echo
  echo "Deployed = metrics on, RUST_LOG=warn. \"metrics off\" is METRICS_PORT=0 (nothing recorded); RUST_LOG=info adds the access log (one JSON line per request, buffered and written by a background thread; /healthz logs at debug only, so it writes none)."
  echo
  echo "| scenario | server | req/s | p99 ms | failed | server CPU us/request | vs metrics off |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for sc in "${COST_SCENARIOS[@]}"; do
    IFS='|' read -r name path enc servers <<<"$sc"
    for s in $servers; do
      base=${s%%_*}_nometrics
      cpu=$(med "$name" "$s" cpu)
      errs=$(awk '{n+=$1} END{print n+0}' "$RES/$(key "$name").$s.err")
      echo "| ${name% cost} | $(label "$s") | $(fmt_int "$(med "$name" "$s" rps)") | $(med "$name" "$s" p99) | $errs | $cpu | $(ratio "$cpu" "$(med "$name" "$base" cpu)")x |"
    done
  done
  echo
  echo "Each server's answer to the same request (checked with curl before the load):"
  echo
  echo "| scenario | server | status | Content-Encoding | bytes |"
  echo "|---|---|---:|---|---:|"
  cat "$CHECKS"
  echo
  echo "## Targets"
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  for name in "index.html" "js identity" "js gzip"; do
    rt=$(ratio "$(med "$name" marketing rps)" "$(med "$name" nginx rps)")
    echo "| marketing-server >= 1.0x nginx req/s, $name | ${rt}x | $(verdict "$rt" 1.0 '>=') |"
  done
  rt=$(ratio "$(med healthz backend rps)" "$(med healthz nginx rps)")
  echo "| backend /healthz >= 0.9x nginx \`return 200\` | ${rt}x | $(verdict "$rt" 0.9 '>=') |"
  for s in marketing backend; do
    v=$(mib "${IDLE[$s]}")
    echo "| idle RSS <= 10 MiB, $(label "$s") | $v MiB | $(verdict "$v" 10 '<=') |"
  done
  v=$(echo "$STARTUP_MARKETING" | cut -d' ' -f1)
  echo "| startup to first 200 <= 50 ms, marketing-server | $v ms | $(verdict "$v" 50 '<=') |"
  v=$(echo "$STARTUP_BACKEND" | cut -d' ' -f1)
  echo "| startup to first 200 <= 50 ms, backend | $v ms | $(verdict "$v" 50 '<=') |"
  echo "| db-migrate no-op <= 100 ms | $MIGRATE_NOOP ms | $(verdict "$MIGRATE_NOOP" 100 '<=') |"
  for pair in "healthz cost|marketing" "index.html cost|marketing" "healthz cost|backend"; do
    IFS='|' read -r name s <<<"$pair"
    rt=$(ratio "$(med "$name" "$s" cpu)" "$(med "$name" "${s}_nometrics" cpu)")
    echo "| metrics cost < 3 % CPU/request, $(label "$s") ${name% cost} | ${rt}x | $(verdict "$rt" 1.03 '<=') |"
  done
  echo
  echo "## Memory (VmRSS / VmHWM from /proc; nginx and node: master + workers summed; idle = settled RSS after start-up)"
  echo
  echo "| server | idle RSS MiB | RSS under load MiB (max mid-run sample) | RSS after load MiB | peak (VmHWM) MiB |"
  echo "|---|---:|---:|---:|---:|"
  for s in "${SERVERS[@]}"; do
    echo "| $(label "$s") | $(mib "${IDLE[$s]}") | $(mib "${LOADMAX[$s]}") | $(mib "${AFTER[$s]}") | $(mib "${PEAK[$s]}") |"
  done
  echo
  echo "backend is loaded with /healthz only here (its DB routes are exercised by the tests)."
  echo
  echo "## Exec to first 200 on /healthz (bench/startup_time.rs; median, min, max)"
  echo
  echo "| server | runs | median ms | min ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  echo "| marketing-server | $STARTUP_RUNS | $(echo "$STARTUP_MARKETING" | sed 's/ / | /g') |"
  echo "| backend | $STARTUP_RUNS | $(echo "$STARTUP_BACKEND" | sed 's/ / | /g') |"
  [ -z "$HAVE_NODE" ] || echo "| node (express, cluster) | 5 | $(echo "$STARTUP_NODE" | sed 's/ / | /g') |"
  echo
  echo "## Binary sizes (target/release, stripped)"
  echo
  echo "| binary | bytes | MiB |"
  echo "|---|---:|---:|"
  for b in marketing-server backend tools; do
    sz=$(stat -c %s "$REL/$b")
    echo "| $b | $sz | $(mib $((sz / 1024))) |"
  done
  [ -z "${BUILD_S:-}" ] || { echo; echo "\`cargo build --release -p marketing-server -p backend -p tools\` in this run: ${BUILD_S} s (incremental: depends on what was already built)."; }
  echo
  echo "## db-migrate (tools, PostgreSQL $PG_VERSION on loopback, default settings; process start to exit)"
  echo
  echo "| case | runs | median ms | all runs ms |"
  echo "|---|---:|---:|---|"
  echo "| empty database (all migrations) | $MIGRATE_RUNS | $MIGRATE_EMPTY | $(paste -sd' ' "$TMP/migrate-empty") |"
  echo "| no-op (already migrated) | $MIGRATE_RUNS | $MIGRATE_NOOP | $(paste -sd' ' "$TMP/migrate-noop") |"
  echo
  echo "## Images"
  echo
  DOCKER_BIN=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker || true)
  if [ -n "$DOCKER_BIN" ] && "$DOCKER_BIN" info >/dev/null 2>&1; then
    imgs=$("$DOCKER_BIN" image ls --format '{{.Repository}}:{{.Tag}}|{{.Size}}|{{.CreatedSince}}' \
      | grep -E '(^|/)[^:|]*(backend|marketing|frontend|tools)[^:|]*:' | grep -v '<none>' || true)
    if [ -n "$imgs" ]; then
      echo "| image | size | created |"
      echo "|---|---:|---|"
      echo "$imgs" | sort | awk -F'|' '{printf "| %s | %s | %s |\n", $1, $2, $3}'
    else
      echo "No project images in the local Docker store (build them with the images' make target, then re-run)."
    fi
  else
    echo "Docker is not available here: no image sizes."
  fi
  for f in "$ROOT"/docker/build-times.md "$ROOT"/docker/results/*.md; do
    [ -f "$f" ] || continue
    echo
    echo "Image build times, as recorded by the image build in \`${f#$ROOT/}\`:"
    echo
    cat "$f"
  done
} >"$TMP/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.md" "$OUT"
cat "$OUT"
log "written to $OUT"
