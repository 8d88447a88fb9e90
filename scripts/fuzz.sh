#!/usr/bin/env bash
# Bounded fuzzing of every cargo-fuzz target in fuzz/ (`make fuzz`): builds them once, then runs
# each for FUZZ_SECONDS (default 30) from its committed seeds in fuzz/seeds/<target>/. Fails on a
# crash, a panic, an input that takes longer than FUZZ_INPUT_TIMEOUT seconds (a hang), or one that
# needs more than 2 GiB; the failing input is kept under target/fuzz/artifacts/<target>/ and its
# path printed (replay: cargo fuzz run --fuzz-dir fuzz <target> <file>, with the env below).
#
# Toolchain: cargo-fuzz needs nightly-only rustc flags (-Z sanitizer, sanitizer coverage passes)
# and only the stable toolchain is installed here and in CI. RUSTC_BOOTSTRAP=1 lets stable rustc
# accept them; it is set for these builds only, never for the shipped binaries.
# Sanitizer: AddressSanitizer by default (FUZZ_SANITIZER=address; stable Rust ships its runtime);
# FUZZ_SANITIZER=none if a toolchain lacks it. The targets deny unsafe code, so ASan mostly
# guards the dependencies.
# Build: into target/fuzz (kept between runs like target/), so only edited crates rebuild.
#
# env: FUZZ_SECONDS, FUZZ_INPUT_TIMEOUT (default 10), FUZZ_SANITIZER, FUZZ_TARGETS (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-30}
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}
sanitizer=${FUZZ_SANITIZER:-address}
fuzz=${CARGO_FUZZ:-$root/.venv/bin/cargo-fuzz}
export RUSTC_BOOTSTRAP=1
# The backend's compile-time checked queries read the workspace's offline data.
export SQLX_OFFLINE=true SQLX_OFFLINE_DIR="$root/.sqlx"
common=(--fuzz-dir fuzz --target-dir target/fuzz --sanitizer "$sanitizer" -O)

targets=${FUZZ_TARGETS:-$("$fuzz" list --fuzz-dir fuzz)}
start=$(date +%s)
"$fuzz" build "${common[@]}"
echo "fuzz: built $(echo $targets | wc -w) targets in $(( $(date +%s) - start )) s"

for target in $targets; do
  [ -d "fuzz/seeds/$target" ] || { echo "error: fuzz/seeds/$target is missing" >&2; exit 1; }
  # New inputs go to a scratch corpus (first directory); the committed seeds stay as they are.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -p "target/fuzz/artifacts/$target"
  echo "fuzz: $target for ${seconds} s"
  log="target/fuzz/artifacts/$target/run.log"
  status=0
  "$fuzz" run "${common[@]}" "$target" "$scratch" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout="$input_timeout" -rss_limit_mb=2048 \
    -artifact_prefix="target/fuzz/artifacts/$target/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tr '\n' ' ' || true
  echo
  rm -rf "$scratch"
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "error: fuzz target $target failed (exit $status); input kept in target/fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz: $(echo $targets | wc -w) targets, ${seconds} s each: no crash, panic or hang"
