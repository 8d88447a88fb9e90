#!/usr/bin/env bash
# Regenerates sqlx's offline query data (what `cargo sqlx prepare` does, without sqlx-cli):
# starts a throwaway PostgreSQL (unix socket only, no port), applies the migrations, and
# compiles the backend with SQLX_OFFLINE=false SQLX_OFFLINE_DIR=OUT so every query! macro
# checks itself against the live schema and writes its query-*.json into OUT.
#
# usage: sqlx-prepare.sh OUT_DIR     (OUT_DIR is emptied first; the Makefile passes .sqlx)
# env:   PG_BIN (default: newest /usr/lib/postgresql/*/bin), CARGO (default: cargo)
set -euo pipefail

out=${1:?usage: sqlx-prepare.sh OUT_DIR}
root=$(cd "$(dirname "$0")/../../.." && pwd)
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$pg_bin/initdb" ] || { echo "error: no PostgreSQL server binaries (set PG_BIN)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/sqlx-prepare.XXXXXX)
# PostgreSQL refuses to run as root: run it as the postgres (or nobody) user then.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  pg_user=$(getent passwd postgres >/dev/null && echo postgres || echo nobody)
  chown "$pg_user" "$tmp"
  as_pg=(runuser -u "$pg_user" --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$pg_bin/initdb" -U postgres --auth=trust --no-sync -E UTF8 --locale=C -D "$tmp/data" >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories=$tmp -c fsync=off" start >/dev/null
url="postgres://postgres@localhost/postgres?host=$tmp"
for migration in "$root"/crates/backend/migrations/*.sql; do
  psql -X -q -v ON_ERROR_STOP=1 -1 -h "$tmp" -U postgres -d postgres -f "$migration" >/dev/null
done

rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
# Proc macros are not re-run when only env vars change: touch a source to force the expansion.
touch "$root/crates/backend/src/lib.rs"
(cd "$root" && SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$url" \
  ${CARGO:-cargo} check -p backend --all-targets --locked --quiet)
# Rebuild the normal (offline) way next time, so nothing compiled against the temp DB lingers.
touch "$root/crates/backend/src/lib.rs"
echo "wrote $(ls "$out" | wc -l) query files to $out"
