#!/usr/bin/env bash
# Branch previews: an environment per branch in a namespace of its own, from the template
# overlay k8s/overlays/preview.
#   scripts/preview.sh up BRANCH [TAG]   (make preview BRANCH=<name> [TAG=<image tag>])
#   scripts/preview.sh down BRANCH       (make preview-down BRANCH=<name>)
#   scripts/preview.sh namespace BRANCH  the namespace of BRANCH
#   scripts/preview.sh tag BRANCH        the default image tag of BRANCH (what CI tags it with)
#
# The namespace is `preview-<branch>` made DNS-safe: lowercase, every run of characters other
# than [a-z0-9] becomes one '-', no '-' at either end; when that is longer than 63 characters
# (a DNS label) it is cut and ends in '-' plus the first 8 hex digits of the SHA-256 of the
# branch name, so two long branches that share a prefix still get two namespaces. The prefix
# keeps a branch named `production` or `kube-system` away from those namespaces. The default
# image tag is the same name without the prefix, at most 55 characters (it names the migration
# Job, migrate-<tag>).
#
# up: scripts/deploy.sh with INSTANCE=<namespace> on the preview template (the hosts become
# <ns>.app / <ns>.www / <ns>.backend.<domain>; inject-stripe-secret creates the namespace's test
# webhook endpoint and records it in STRIPE_STORE). down: `kubectl delete namespace` (waits), then
# `tools stripe-webhook delete`, which deletes the endpoint at Stripe and forgets it in the store.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBECTL=${KUBECTL:-kubectl}
TOOLS=${TOOLS:-$ROOT/target/debug/tools}
STRIPE_STORE=${STRIPE_STORE:-$ROOT/.secrets/stripe-webhooks.json}
PREFIX=preview-

die() { printf 'preview: error: %s\n' "$*" >&2; exit "${2:-1}"; }

# dns_name PREFIX MAX NAME
dns_name() {
  local prefix=$1 max=$2 name=$3 slug
  slug=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+//; s/-+$//')
  local full=$prefix$slug
  full=${full%-}
  if [ "${#full}" -gt "$max" ] || [ -z "$slug" ]; then
    local hash
    hash=$(printf '%s' "$name" | sha256sum | cut -c1-8)
    full=${full:0:$((max - 9))}
    full="${full%-}-$hash"
    full=${full#-}
  fi
  printf '%s\n' "$full"
}

CMD=${1:-}
BRANCH=${2:-}
[ -n "$CMD" ] && [ -n "$BRANCH" ] || die "usage: scripts/preview.sh up|down|namespace|tag BRANCH [TAG]" 2
NS=$(dns_name "$PREFIX" 63 "$BRANCH")
TAG=${3:-$(dns_name "" 55 "$BRANCH")}

case $CMD in
  namespace) echo "$NS" ;;
  tag) echo "$TAG" ;;
  up)
    printf 'preview: branch %s -> namespace %s, images tagged %s\n' "$BRANCH" "$NS" "$TAG" >&2
    INSTANCE=$NS exec "$ROOT/scripts/deploy.sh" preview "$TAG"
    ;;
  down)
    printf 'preview: deleting namespace %s (branch %s)\n' "$NS" "$BRANCH" >&2
    "$KUBECTL" delete namespace "$NS" --ignore-not-found --wait=true
    # After the namespace: while its backend ran, the endpoint had to stay valid.
    "$TOOLS" stripe-webhook delete --namespace "$NS" --store "$STRIPE_STORE"
    printf 'preview: %s is gone\n' "$NS" >&2
    ;;
  *) die "unknown command '$CMD' (up, down, namespace, tag)" 2 ;;
esac
