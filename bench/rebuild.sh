#!/usr/bin/env bash
# `make bench-rebuild`: how long `make images` takes after a one-line source edit, for each
# Cargo profile the image build can use (docker/Dockerfile's CARGO_PROFILE build argument).
#
# For each profile: a scratch git worktree of HEAD (so nothing here is touched), `make images`
# once (whatever the shared BuildKit cache mounts need to catch up: the "previous build"), then
# for each edit (a comment line appended to one file, then undone) `make images` again, timed,
# with BuildKit's per-step times. The edits: crates/backend/src/main.rs (only the backend binary
# changes) and crates/backend/src/routes/accounts.rs (the backend library: backend and tools,
# which uses it, relink). Images are tagged `bench-rebuild` and removed after.
# Writes bench/results/rebuild.md (bench/run.sh copies it into its report).
#
# Knobs: BENCH_REBUILD_PROFILES="release" (any Cargo profiles, e.g. "release image"), DOCKER. A Dockerfile without the CARGO_PROFILE
# argument builds its own profile whatever is asked: then only that build is timed, as "Dockerfile".
# Run it with nothing else building on the machine: it times real builds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
read -r -a PROFILES <<<"${BENCH_REBUILD_PROFILES:-release}"
EDITS=(crates/backend/src/main.rs crates/backend/src/routes/accounts.rs)
OUT=$ROOT/bench/results/rebuild.md
TAG=bench-rebuild
# What `make images` builds.
IMAGES="backend marketing frontend tools backup"
TMP=$(mktemp -d /tmp/bench-rebuild.XXXXXX)
WT=$TMP/tree

log() { printf '[bench-rebuild] %s\n' "$*" >&2; }
cleanup() {
  git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || true
  for i in $IMAGES; do "$DOCKER" image rm "$i:$TAG" >/dev/null 2>&1 || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

git -C "$ROOT" worktree add --quiet --detach "$WT" HEAD
if ! grep -q '^ARG CARGO_PROFILE' "$WT/docker/Dockerfile"; then
  log "docker/Dockerfile has no CARGO_PROFILE argument: timing its own build only"
  PROFILES=(Dockerfile)
fi
now() { date +%s%N; }
secs() { awk -v d=$(( $2 - $1 )) 'BEGIN{printf "%.0f", d/1e9}'; }

# images LOGFILE PROFILE -> seconds; BuildKit's plain progress goes to LOGFILE.
images() {
  local t0 t1
  t0=$(now)
  local profile=(); [ "$2" = Dockerfile ] || profile=(CARGO_PROFILE="$2")
  (cd "$WT" && make --no-print-directory images TAG="$TAG" "${profile[@]}" PROGRESS=plain) >"$1" 2>&1 \
    || { tail -n 40 "$1" >&2; log "make images failed (log above)"; exit 1; }
  t1=$(now)
  secs "$t0" "$t1"
}

# The check and build steps of one build: "fmt 2 s, clippy and tests 40 s, ..." from BuildKit's "#N DONE 40.2s".
# The two stages run at the same time, so the rebuild takes about the longer of checks and build.
steps() {
  awk '
    /^#[0-9]+ \[(check|build) / { id = $1; name = $0
      if (name ~ /cargo fmt/) label[id] = "fmt"; else if (name ~ /cargo clippy/) label[id] = "clippy and tests";
      else if (name ~ /cargo build/) label[id] = "release build" }
    /^#[0-9]+ DONE / && ($1 in label) && !(($1) in seen) { seen[$1] = 1; t = $3; sub(/s$/, "", t); sum[label[$1]] += t }
    END { n = split("fmt|clippy and tests|release build", o, "|")
      for (i = 1; i <= n; i++) printf "%s%s %s", (i > 1 ? ", " : ""), o[i], ((o[i] in sum) ? sprintf("%.0f s", sum[o[i]]) : "cached") }' "$1"
}

rows=()
for p in "${PROFILES[@]}"; do
  log "profile $p: previous build (catching the cache mounts up)"
  warm=$(images "$TMP/warm-$p.log" "$p")
  for e in "${EDITS[@]}"; do
    echo "// bench-rebuild: a one-line edit ($(date -u +%s))" >>"$WT/$e"
    log "profile $p: rebuild after a one-line edit of $e"
    log_file=$TMP/edit-$p-$(basename "$e").log
    total=$(images "$log_file" "$p")
    git -C "$WT" checkout --quiet -- "$e"
    sizes=$(for i in $IMAGES; do
      "$DOCKER" image inspect -f '{{.Size}}' "$i:$TAG" | awk -v n="$i" '{printf "%s %.1f MB ", n, $1 / 1e6}'; done)
    rows+=("| $p | $e | ${total} s | $(steps "$log_file") | ${warm} s | $sizes|")
    log "profile $p: ${total} s after the edit of $e"
  done
done

mkdir -p "$(dirname "$OUT")"
{
  echo "\`make bench-rebuild\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "All five images (\`make images\`) after appending a comment line to one file (each edit on its own, undone before the next); the steps of the check and build stages from BuildKit (the two stages run at the same time)."
  echo
  echo "| Cargo profile of the binaries | edited file | rebuild after the edit | check and build steps | the build before it | image sizes |"
  echo "|---|---|---:|---|---:|---|"
  printf '%s\n' "${rows[@]}"
} >"$OUT"
cat "$OUT"
log "written to $OUT"
