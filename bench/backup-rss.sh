#!/usr/bin/env bash
# Peak RSS of `tools db-backup` and `tools db-restore` for a database of at least 1 GB, measured
# with /usr/bin/time -v against a throwaway PostgreSQL (test-support's with-postgres) and a
# file:// store. Not part of `make bench` (it needs ~3 GB of /tmp and a few minutes).
# Usage: cargo build --release -p tools && bench/backup-rss.sh [GB]   (default 1.1)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != --inside ]; then
  GB=${1:-1.1}
  [ -x "${TOOLS:-target/release/tools}" ] || { echo "error: no ${TOOLS:-target/release/tools} (cargo build --release -p tools, or set TOOLS)" >&2; exit 1; }
  cargo build -q --locked -p test-support --bin with-postgres
  exec target/debug/with-postgres -- "$0" --inside "$GB"
fi
GB=$2
TOOLS=${TOOLS:-$PWD/target/release/tools}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
export PG_DUMP=$bin/pg_dump PG_RESTORE=$bin/pg_restore
work=$(mktemp -d /tmp/backup-rss.XXXXXX)
trap 'rm -rf "$work"' EXIT
base=${DATABASE_URL%/*}
psql -q "$DATABASE_URL" -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
# Rows of random hex (1 KiB each): pg_dump compresses them only about 2x, so the dump is big too.
rows=$(awk -v gb="$GB" 'BEGIN { printf "%d", gb * 1024 * 1024 * 1024 / 1100 }')
psql -q "$base/src" -c "CREATE TABLE big (id bigserial PRIMARY KEY, payload text NOT NULL)" \
  -c "INSERT INTO big (payload) SELECT (SELECT string_agg(md5(random()::text || r), '') FROM generate_series(1, 32)) FROM generate_series(1, $rows) AS r"
echo "database: $(psql -At "$base/src" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"), $rows rows"
age-keygen -o "$work/key" 2>/dev/null
pub=$(age-keygen -y "$work/key")
DATABASE_URL=$base/src /usr/bin/time -v "$TOOLS" db-backup --to "file://$work/store/" --recipient "$pub" \
  2>"$work/backup.log" || { cat "$work/backup.log"; exit 1; }
DATABASE_URL=$base/dst /usr/bin/time -v "$TOOLS" db-restore --from "file://$work/store/" --identity "$work/key" \
  2>"$work/restore.log" || { cat "$work/restore.log"; exit 1; }
for step in backup restore; do
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$step.log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/$step.log")
  echo "db-$step: peak RSS $rss KiB, wall $wall"
done
grep -h 'db-backup: wrote\|db-restore: restored' "$work/backup.log" "$work/restore.log"
