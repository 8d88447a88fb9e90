#!/usr/bin/env bash
# Offline security audit of Cargo.lock: `cargo audit` against a RustSec advisory-db snapshot, with
# fetching disabled (CI has no route to GitHub). Fails on any vulnerability or `unsound` advisory
# that applies to a locked crate and is not ignored in .cargo/audit.toml; `unmaintained` advisories
# are printed as warnings (see README, "Security advisories").
#
# usage: scripts/audit.sh            audit Cargo.lock
#        scripts/audit.sh selftest   prove the audit can fail: inject a fake advisory for a locked
#                                    crate into a temporary copy of the snapshot, expect a failure
# env:   RUSTSEC_DB   the snapshot (a copy of rustsec/advisory-db; read-only is fine)
#        CARGO        cargo (default: cargo); `cargo audit` must be installed (cargo-audit)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-audit}
db_src=${RUSTSEC_DB:?set RUSTSEC_DB to a RustSec advisory-db snapshot}
cargo=${CARGO:-cargo}
config=.cargo/audit.toml

[ -d "$db_src/crates" ] || {
  echo "error: RUSTSEC_DB=$db_src is not a RustSec advisory-db snapshot (no crates/ directory);" \
    "set RUSTSEC_DB to a copy of rustsec/advisory-db" >&2
  exit 1
}
"$cargo" audit --version >/dev/null 2>&1 || {
  echo "error: cargo-audit is not installed (make audit installs it into .venv from scripts/cargo-tools.txt)" >&2
  exit 1
}

# An ignore without a reason is not allowed: every "RUSTSEC-..." line in the config carries a
# `# reason` comment on the same line.
if unexplained=$(grep -nE '"RUSTSEC-[0-9]{4}-[0-9]{4}"' "$config" | grep -v '#'); then
  echo "error: $config ignores an advisory without a reason (add '# why' on the line):" >&2
  echo "$unexplained" >&2
  exit 1
fi

# cargo-audit opens the database as a git repository, and the snapshot may be read-only: audit a
# throwaway copy committed in a temp dir (never in the repository).
tmp=$(mktemp -d /tmp/rustsec-audit.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -R "$db_src" "$tmp/db"
chmod -R u+w "$tmp/db"

if [ "$mode" = selftest ]; then
  crate=tokio # locked by every binary here
  version=$(awk -v c="$crate" '$0 == "name = \"" c "\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
  [ -n "$version" ] || { echo "error: $crate is not in Cargo.lock; pick another crate" >&2; exit 1; }
  mkdir -p "$tmp/db/crates/$crate"
  cat >"$tmp/db/crates/$crate/RUSTSEC-2099-0001.md" <<EOF
\`\`\`toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "$crate"
date = "2099-01-01"
url = "https://example.com/audit-selftest"
categories = ["memory-corruption"]

[versions]
patched = [">= 9999.0.0"]
\`\`\`

# Audit self-test: a fake advisory for $crate $version

Injected by scripts/audit.sh selftest into a temporary copy of the advisory database.
EOF
fi

git -C "$tmp/db" init -q
git -C "$tmp/db" add -A
git -C "$tmp/db" -c user.name=audit -c user.email=audit@localhost -c commit.gpgsign=false \
  commit -q -m "advisory-db snapshot"

audit() {
  # --stale: the snapshot is old by design; --no-fetch: never touch the network.
  "$cargo" audit --db "$tmp/db" --no-fetch --stale --file Cargo.lock --deny unsound "$@"
}

case "$mode" in
  audit)
    audit
    # The fuzz crate's own lock file: its dependencies (libfuzzer-sys) run in `make fuzz`.
    "$cargo" audit --db "$tmp/db" --no-fetch --stale --file fuzz/Cargo.lock --deny unsound
    ;;
  selftest)
    if out=$(audit 2>&1); then
      echo "$out"
      echo "error: the audit passed although a fake advisory for $crate $version was injected" >&2
      exit 1
    fi
    if ! grep -q RUSTSEC-2099-0001 <<<"$out"; then
      echo "$out"
      echo "error: the audit failed, but not because of the injected advisory" >&2
      exit 1
    fi
    echo "audit selftest: a fake advisory for $crate $version fails the audit, as it must"
    ;;
  *)
    echo "usage: $0 [audit|selftest]" >&2
    exit 2
    ;;
esac
