#!/usr/bin/env bash
# Choose the base images for a build or a compose run, and make sure they are in the local store.
# For each KIND asked for (builder -> RUST_IMAGE, runtime -> RUNTIME_IMAGE, postgres ->
# POSTGRES_IMAGE):
#   1. the upstream image (scripts/base-images.conf) when it is in the local store;
#   2. else the upstream image after one `docker pull` (PULL_TIMEOUT seconds, pulls run in parallel);
#   3. else the offline stand-in, built from Debian packages by scripts/offline-bases.sh when it is
#      missing (stand-ins that exist are reused).
# ONE line says which path was taken and why. A variable already set in the environment (e.g.
# RUNTIME_IMAGE=foo) is used as given: pulled if missing, or built if it names a stand-in.
# BASES=upstream refuses the offline path; BASES=offline skips the upstream images (no pull).
#
# Usage: scripts/bases.sh KIND...                 print VAR=value lines (for `eval`)
#        scripts/bases.sh KIND... -- COMMAND...   export them and run COMMAND
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/base-images.conf

DOCKER=${DOCKER:-/usr/bin/docker}
PULL_TIMEOUT=${PULL_TIMEOUT:-20}
BASES=${BASES:-auto}
case "$BASES" in auto | upstream | offline) ;; *) die "BASES must be auto, upstream or offline, got '$BASES'" ;; esac

kinds=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do kinds+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
[ ${#kinds[@]} -gt 0 ] || die "usage: scripts/bases.sh builder|runtime|postgres... [-- COMMAND...]"

have() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

declare -A var upstream offline standin chosen why
for k in "${kinds[@]}"; do
  case "$k" in
    builder) var[$k]=RUST_IMAGE upstream[$k]=$UPSTREAM_RUST_IMAGE offline[$k]=$OFFLINE_RUST_IMAGE standin[$k]=rust ;;
    runtime) var[$k]=RUNTIME_IMAGE upstream[$k]=$UPSTREAM_RUNTIME_IMAGE offline[$k]=$OFFLINE_RUNTIME_IMAGE standin[$k]=runtime ;;
    postgres) var[$k]=POSTGRES_IMAGE upstream[$k]=$UPSTREAM_POSTGRES_IMAGE offline[$k]=$OFFLINE_POSTGRES_IMAGE standin[$k]=postgres ;;
    *) die "unknown base '$k' (expected builder, runtime or postgres)" ;;
  esac
done

# Pass 1: what is already in the store (an image set by the user counts as its kind's upstream).
to_pull=()
for k in "${kinds[@]}"; do
  given=${!var[$k]:-}
  if [ -n "$given" ]; then
    upstream[$k]=$given
    if [ "$given" = "${offline[$k]}" ]; then chosen[$k]=offline why[$k]="${var[$k]} is set"; continue; fi
  elif [ "$BASES" = offline ]; then
    chosen[$k]=offline why[$k]="BASES=offline"; continue
  fi
  if have "${upstream[$k]}"; then
    chosen[$k]=upstream why[$k]="in the local store"
  else
    to_pull+=("$k")
  fi
done

# Pass 2: one pull per missing upstream image, all at once, each bounded by PULL_TIMEOUT.
if [ ${#to_pull[@]} -gt 0 ]; then
  tmp=$(mktemp -d)
  log "trying docker pull (at most ${PULL_TIMEOUT}s): $(for k in "${to_pull[@]}"; do printf '%s ' "${upstream[$k]}"; done)"
  for k in "${to_pull[@]}"; do
    (rc=0; timeout "$PULL_TIMEOUT" "$DOCKER" pull -q "${upstream[$k]}" >"$tmp/$k" 2>&1 || rc=$?; echo $rc >"$tmp/$k.rc") &
  done
  wait
  for k in "${to_pull[@]}"; do
    if [ "$(cat "$tmp/$k.rc")" = 0 ]; then
      chosen[$k]=upstream why[$k]="pulled"
    else
      # "Error response from daemon: Get "https://...": dial tcp: lookup gcr.io on 10.0.0.1:53: no
      # such host" -> "lookup gcr.io: no such host"
      reason=$(grep -v '^\s*$' "$tmp/$k" | tail -1 | sed -E 's/^Error response from daemon: //;
        s/Get "[^"]*": //; s/dial tcp: //; s/ on [^ ]+:53:/:/' | cut -c1-100)
      [ "$(cat "$tmp/$k.rc")" = 124 ] && reason="no answer within ${PULL_TIMEOUT}s"
      if [ -n "${!var[$k]:-}" ] && [ "${upstream[$k]}" != "${offline[$k]}" ]; then
        rm -rf "$tmp"
        die "${var[$k]}=${upstream[$k]} is not in the local store and docker pull failed: $reason (unset ${var[$k]} to let the offline stand-in be used)"
      fi
      [ "$BASES" = upstream ] && { rm -rf "$tmp"; die "BASES=upstream but ${upstream[$k]} is not in the local store and docker pull failed: $reason"; }
      chosen[$k]=offline why[$k]="${upstream[$k]} not in the store, pull failed: ${reason:-exit $(cat "$tmp/$k.rc")}"
    fi
  done
  rm -rf "$tmp"
fi

# The decision, on one line, before the (possibly long) stand-in build.
missing=()
line=()
for k in "${kinds[@]}"; do
  if [ "${chosen[$k]}" = upstream ]; then
    line+=("$k ${upstream[$k]} (upstream: ${why[$k]})")
  else
    state=reused
    have "${offline[$k]}" || { state="to build"; missing+=("${standin[$k]}"); }
    line+=("$k ${offline[$k]} (offline stand-in, $state; ${why[$k]})")
  fi
done
summary=$(printf '%s | ' "${line[@]}")
log "bases: ${summary% | }"

if [ ${#missing[@]} -gt 0 ]; then
  # stdout too goes to stderr: in print mode stdout carries only the VAR=value lines.
  DOCKER=$DOCKER scripts/offline-bases.sh "${missing[@]}" >&2
fi

for k in "${kinds[@]}"; do
  if [ "${chosen[$k]}" = upstream ]; then value=${upstream[$k]}; else value=${offline[$k]}; fi
  export "${var[$k]}=$value"
  [ $# -gt 0 ] || printf '%s=%q\n' "${var[$k]}" "$value"
done
if [ $# -gt 0 ]; then
  trap - EXIT
  exec "$@"
fi
