#!/usr/bin/env bash
# Build the production images (backend, marketing, frontend, tools, backup) from docker/Dockerfile
# without any network access inside the build:
#   1. copy the source tree to .build/context: the work tree's files that git does not ignore
#      (tracked + untracked, so uncommitted edits are built; CONTEXT=head builds exactly HEAD),
#   2. vendor the crates there (cached in .build/vendor, redone when Cargo.lock changes) and point
#      cargo at them offline via the context's .cargo/config.toml,
#   3. `docker build --target T` per image; BuildKit shares the check and build stages between them
#      (the first image runs both at once; the others find them cached).
# Env: DOCKER (default /usr/bin/docker, the BuildKit-capable 20.10 client), TAG (dev),
#      TARGETS ("backend marketing frontend tools"; `TARGETS=backup` builds the backup image,
#      `TARGETS=stripe-stand-in` the test-only Stripe stand-in of `make e2e-paid`), CARGO_PROFILE (the binaries' Cargo
#      profile; unset: the Dockerfile's default); the bases come from scripts/bases.sh (BASES,
#      RUST_IMAGE, RUNTIME_IMAGE, ... as documented there). RERUN: the command a failure suggests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DOCKER=${DOCKER:-/usr/bin/docker}
TAG=${TAG:-dev}
TARGETS=${TARGETS:-backend marketing frontend tools backup}
CONTEXT=${CONTEXT:-worktree}
CTX=.build/context
VENDOR=.build/vendor
DOCKERFILE=${DOCKERFILE:-$CTX/docker/Dockerfile}
export DOCKER_BUILDKIT=1

RERUN=${RERUN:-scripts/build-images.sh}

# 0. The bases: upstream when in the store or pullable, else the offline stand-ins (built if missing).
bases=$(scripts/bases.sh builder runtime) || exit 1
eval "$bases"

# 1. A clean context holding exactly the chosen files.
rm -rf "$CTX"
mkdir -p "$CTX"
case "$CONTEXT" in
  head) git archive --format=tar HEAD | tar -C "$CTX" -xf - ;;
  worktree)
    # Files deleted in the work tree but still in the index are skipped rather than failing tar.
    git ls-files -z --cached --others --exclude-standard \
      | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
      | tar --null -T - -cf - | tar -C "$CTX" -xf - ;;
  *) die "CONTEXT must be 'worktree' or 'head', got '$CONTEXT'" ;;
esac

# 2. Vendored crates, reused while Cargo.lock is unchanged.
lock_sum=$(sha256sum "$CTX/Cargo.lock" | cut -d' ' -f1)
if [ ! -f "$VENDOR/.lock-sha256" ] || [ "$(cat "$VENDOR/.lock-sha256")" != "$lock_sum" ]; then
  step "cargo vendor into $VENDOR (Cargo.lock changed; needs crates.io)" "$RERUN"
  rm -rf "$VENDOR"
  cargo vendor --quiet --locked --manifest-path "$CTX/Cargo.toml" "$VENDOR" >/dev/null
  # Crate archives carry one fixed mtime for every file, so a file that changed between two crate
  # versions can keep its size and mtime; BuildKit's incremental context transfer compares exactly
  # those and would skip it ("the listed checksum ... has changed" inside the build). Each crate's
  # files get an mtime derived from its archive's checksum instead: a new version has a new mtime,
  # and the same version the same mtime in every clone, so build scripts that watch their files
  # (proc-macro2's and others') do not rerun, and the dependencies compiled in the image build's
  # cache mounts stay valid, whichever checkout vendored them.
  for dir in "$VENDOR"/*/; do
    sum=$(grep -o '"package":"[0-9a-f]*"' "$dir.cargo-checksum.json" | cut -d'"' -f4 | cut -c1-7)
    # 2001-09-09 plus up to 8.5 years: in the past, and one per crate version.
    find "$dir" -exec touch -h -d "@$((1000000000 + 16#${sum:-0}))" {} +
  done
  echo "$lock_sum" >"$VENDOR/.lock-sha256"
  step_done "cargo vendor"
fi
cp -al "$VENDOR" "$CTX/vendor"
rm -f "$CTX/vendor/.lock-sha256"
mkdir -p "$CTX/.cargo"
{
  # Keep the repository's settings (SQLX_OFFLINE) and add the offline source replacement.
  [ -f .cargo/config.toml ] && cat .cargo/config.toml && echo
  cat <<'TOML'
# Added by scripts/build-images.sh: the image build never fetches crates.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"

[net]
offline = true
TOML
} >"$CTX/.cargo/config.toml"

# 3. The images. Labels come from git so a rebuild of the same commit is identical.
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
created=$(git log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
n=0 total=$(wc -w <<<"$TARGETS")
for target in $TARGETS; do
  n=$((n + 1))
  # The first image compiles everything (checks and release build side by side: minutes on a cold
  # cache); the others reuse those stages.
  step "[$n/$total] building image $target:$TAG (builder $RUST_IMAGE, runtime $RUNTIME_IMAGE)" "$RERUN"
  "$DOCKER" build --progress="${PROGRESS:-plain}" \
    -f "$DOCKERFILE" --target "$target" -t "$target:$TAG" \
    --build-arg RUST_IMAGE="$RUST_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg CREATED="$created" \
    ${CARGO_PROFILE:+--build-arg CARGO_PROFILE="$CARGO_PROFILE"} \
    "$CTX"
  step_done "$target:$TAG"
done
"$DOCKER" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^($(echo "$TARGETS" | tr ' ' '|')):$TAG " >&2 || true
