#!/usr/bin/env bash
# User-space instructions per request (valgrind callgrind) of the binaries of each Cargo profile
# given, for comparing profiles: marketing-server serving index.html and the large JS gzipped
# (bench/large_js.py), backend /healthz. Counts do not depend on the machine's load, so this can
# run while other builds do. One worker (taskset: available_parallelism is 1), access log on (info),
# metrics off (METRICS_PORT=0); keep-alive requests from one curl, counted after a warm-up.
# (callgrind_control gets the servers' HOST too: vgdb names its pipe after HOST.)
#
#   cargo build --profile P -p backend -p marketing-server   (for each P)
#   cargo run -p test-support --bin with-postgres -- bench/callgrind.sh release image ...
# Env: CALLGRIND_REQUESTS (500), CARGO_TARGET_DIR (target).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${CALLGRIND_REQUESTS:-500}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
: "${DATABASE_URL:?run it under with-postgres (test-support)}"
[ $# -gt 0 ] || { echo "usage: $0 PROFILE..." >&2; exit 2; }
TMP=$(mktemp -d /tmp/callgrind.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT

python3 "$ROOT/sites/layout.py" export marketing "$TMP/site"
mkdir -p "$TMP/site/assets"
python3 "$ROOT/bench/large_js.py" >"$TMP/site/assets/bench-large.js"
# gzip -9 siblings, as `make bench` serves the site (marketing-server sends them as they are).
find "$TMP/site" -type f \( -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.svg' \) -exec gzip -9 -k {} +
"$TARGET_DIR/debug/tools" db-migrate >/dev/null 2>&1 || cargo run -q --locked -p tools -- db-migrate >/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# measure NAME BINARY PATH CURL-ARGS... -> instructions per request of PATH
measure() {
  local name=$1 binary=$2 path=$3; shift 3
  local port out=$TMP/$name.cg
  port=$(free_port)
  env LOG_FORMAT=json RUST_LOG=info METRICS_PORT=0 HOST=127.0.0.1 PORT="$port" SITE_DIR="$TMP/site" \
    DATABASE_URL="$DATABASE_URL" JWT_SECRET=callgrind-only-secret-0123456789abcdef0123456789 \
    SUBSCRIPTIONS_ENABLED=false \
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$binary" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$pid" 2>/dev/null || { cat "$TMP/$name.log" >&2; exit 1; }
    sleep 0.5
  done
  # marketing-server compresses the site on a background thread after the listener is up.
  case $binary in */marketing-server)
    until grep -q 'encodings ready' "$TMP/$name.log"; do sleep 0.5; done ;;
  esac
  local url=http://127.0.0.1:$port$path urls=()
  for _ in $(seq "$N"); do urls+=("$url"); done
  HOST=127.0.0.1 callgrind_control -i on "$pid" >/dev/null
  curl -fs "$@" "${urls[@]:0:50}" >/dev/null
  HOST=127.0.0.1 callgrind_control -z "$pid" >/dev/null
  curl -fs "$@" "${urls[@]}" >/dev/null
  HOST=127.0.0.1 callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # The dump after the zeroing: the largest-numbered file; its "summary:" is the total Ir.
  local dump ir
  dump=$(ls -v "$out"* | grep -v "^$out\$" | tail -n1)
  ir=$(awk '/^summary:/ {print $2}' "$dump")
  awk -v ir="$ir" -v n="$N" 'BEGIN { printf "%.1fk", ir / n / 1000 }'
}

printf '| profile | marketing-server index.html | marketing-server JS, gzip | backend /healthz |\n|---|---:|---:|---:|\n'
for p in "$@"; do
  dir=$p; [ "$p" = dev ] && dir=debug
  ms=$TARGET_DIR/$dir/marketing-server be=$TARGET_DIR/$dir/backend
  printf '| %s | %s | %s | %s |\n' "$p" \
    "$(measure "ms-index-$p" "$ms" /)" \
    "$(measure "ms-js-$p" "$ms" /assets/bench-large.js -H 'Accept-Encoding: gzip')" \
    "$(measure "be-healthz-$p" "$be" /healthz)"
done
