#!/usr/bin/env bash
# Regenerates sqlx's offline query data (what `cargo sqlx prepare` does, without sqlx-cli):
# compiles the backend with SQLX_OFFLINE=false SQLX_OFFLINE_DIR=OUT against a throwaway
# PostgreSQL with the migrations applied, so every query! macro checks itself against the live
# schema and writes its query-*.json into OUT. The PostgreSQL is test-support's `with-postgres`,
# the same cluster the tests start.
#
# usage: sqlx-prepare.sh OUT_DIR     (OUT_DIR is emptied first; the Makefile passes .sqlx)
# env:   PG_BIN (default: newest /usr/lib/postgresql/*/bin), CARGO (default: cargo)
set -euo pipefail

out=${1:?usage: sqlx-prepare.sh OUT_DIR}
root=$(cd "$(dirname "$0")/../../.." && pwd)
cargo=${CARGO:-cargo}

rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
# Proc macros are not re-run when only env vars change: touch a source to force the expansion.
touch crates/backend/src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
  $cargo run --quiet --locked -p test-support --bin with-postgres -- \
  --migrate crates/backend/migrations -- \
  $cargo check -p backend --all-targets --locked --quiet
# Rebuild the normal (offline) way next time, so nothing compiled against the temp DB lingers.
touch crates/backend/src/lib.rs
echo "wrote $(ls "$out" | wc -l) query files to $out"
