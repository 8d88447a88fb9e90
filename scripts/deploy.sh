#!/usr/bin/env bash
# Deploys one release of an overlay, in the order that keeps the running release serving:
#   scripts/deploy.sh OVERLAY TAG          (make deploy ENV=OVERLAY TAG=TAG)
#
#  1. stage a copy of k8s/ (nothing in the repository is modified) and set the overlay's release
#     (release.yaml `tag:`) there; with INSTANCE=NAME the overlay is a template whose namespace
#     name is replaced by NAME everywhere in it (make preview);
#  2. fill the secret placeholders of the copy: `__NAME__` from the environment variable NAME,
#     the Stripe webhook secret with `tools inject-stripe-secret` for the overlay's namespace;
#  3. render (kubectl kustomize) and validate offline (K8S_VALIDATE);
#  4. apply; wait for the database StatefulSet; wait for the release's migration Job
#     (migrate-TAG). If it fails: print its logs and stop (exit 1) without touching anything
#     else: the new backend pods stay unready (they wait for the schema), the old ones serve;
#  5. wait for every Deployment's rollout, then print what was deployed.
#
# DRY_RUN=1 stops after step 3 (no secrets, no Stripe, no cluster). ROLLBACK=1 deploys an OLDER
# release over a schema that is already newer: its migration Job is left out (the older tools
# would refuse the newer schema, exit 5) and not waited for; the older backend accepts the newer
# schema (migrations are expand/contract, docs/runbook-releases.md). Settings (environment):
#   KUBECTL (kubectl), TOOLS (the tools binary), STRIPE_STORE (.secrets/stripe-webhooks.json),
#   DEPLOY_DIR (.build/deploy/<namespace>), K8S_VALIDATE (a command given the rendered file),
#   DB_TIMEOUT (300s), MIGRATE_TIMEOUT (seconds, 660: the Job's deadline plus a minute),
#   ROLLOUT_TIMEOUT (300s), POLL_SECONDS (2). The Stripe settings are those of
#   `tools inject-stripe-secret` (STRIPE_API_KEY_TEST / _PROD, STRIPE_WEBHOOK_URL_BASE, ...).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OVERLAY=${1:-}
TAG=${2:-}
KUBECTL=${KUBECTL:-kubectl}
TOOLS=${TOOLS:-$ROOT/target/debug/tools}
STRIPE_STORE=${STRIPE_STORE:-$ROOT/.secrets/stripe-webhooks.json}
DB_TIMEOUT=${DB_TIMEOUT:-300s}
MIGRATE_TIMEOUT=${MIGRATE_TIMEOUT:-660}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-300s}
POLL_SECONDS=${POLL_SECONDS:-2}
INSTANCE=${INSTANCE:-}
WEBHOOK_SECRET_FILE=stripe-webhook-secret.env

say() { printf 'deploy: %s\n' "$*" >&2; }
die() { printf 'deploy: error: %s\n' "$*" >&2; exit "${2:-1}"; }

[ -n "$OVERLAY" ] && [ -n "$TAG" ] || die "usage: scripts/deploy.sh OVERLAY TAG (make deploy ENV=<overlay> TAG=<tag>)" 2
SRC=$ROOT/k8s/overlays/$OVERLAY
[ -d "$SRC" ] || die "no overlay k8s/overlays/$OVERLAY" 2
[ -f "$SRC/release.yaml" ] || die "k8s/overlays/$OVERLAY has no release.yaml: it does not declare a release to deploy" 2
# The tag names the migration Job (migrate-TAG, at most 63 characters: the Job's pods carry it
# as a label value), so it must be valid in a DNS name.
[[ $TAG =~ ^[a-z0-9]([a-z0-9.-]{0,53}[a-z0-9])?$ ]] \
  || die "TAG '$TAG' must be lowercase letters, digits, '.' and '-' (at most 55, alphanumeric at both ends)" 2
if [ -n "$INSTANCE" ]; then
  [[ $INSTANCE =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "INSTANCE '$INSTANCE' is not a DNS label" 2
fi

# objects FILE: one "Kind name namespace" line per object of a kustomize rendering (its keys are
# sorted, so a document's metadata.name/namespace are the only 2-space `name:`/`namespace:` keys
# before `spec:`).
objects() {
  awk '
    function flush() { if (kind != "") print kind, name, (ns == "" ? "-" : ns); kind = name = ns = ""; meta = 0 }
    /^---/ { flush(); next }
    /^kind: / { kind = $2 }
    /^metadata:/ { meta = 1; next }
    /^[a-z]/ { meta = 0 }
    meta && /^  name: / { name = $2 }
    meta && /^  namespace: / { ns = $2 }
    END { flush() }' "$1"
}

render() { "$KUBECTL" kustomize "$STAGE/k8s/overlays/$OVERLAY" >"$1"; }

# --- 1. stage -------------------------------------------------------------------------------
DEPLOY_DIR=${DEPLOY_DIR:-$ROOT/.build/deploy/${INSTANCE:-$OVERLAY}}
STAGE=$DEPLOY_DIR
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -R "$ROOT/k8s" "$STAGE/k8s"
rm -rf "$STAGE/k8s/tests"
if [ -n "$INSTANCE" ]; then
  template=$(awk '$1 == "namespace:" { print $2; exit }' "$SRC/kustomization.yaml")
  [ -n "$template" ] || die "k8s/overlays/$OVERLAY sets no namespace: to replace with INSTANCE" 2
  # Whole names only: the template's name and the hosts, labels and tags made from it.
  sed -i "s/\b$template\b/$INSTANCE/g" "$STAGE/k8s/overlays/$OVERLAY"/*.yaml
fi
release=$STAGE/k8s/overlays/$OVERLAY/release.yaml
[ "$(grep -c '^  tag: ' "$release")" = 1 ] || die "k8s/overlays/$OVERLAY/release.yaml: want exactly one '  tag:' line" 2
sed -i "s/^  tag: .*/  tag: $TAG/" "$release"

render "$STAGE/first.yaml"
NS=$(objects "$STAGE/first.yaml" | awk '$1 == "Namespace" { print $2; exit }')
[ -n "$NS" ] || die "the overlay renders no Namespace"
JOB=migrate-$TAG
objects "$STAGE/first.yaml" | grep -q "^Job $JOB " || die "the rendering has no Job $JOB (k8s/components/release missing from the overlay?)"
say "release $TAG of overlay $OVERLAY into namespace $NS (staged in ${STAGE#"$ROOT"/})"

# --- 2. secrets ------------------------------------------------------------------------------
secrets=$STAGE/k8s/base/secrets
if [ -z "${DRY_RUN:-}" ]; then
  # Placeholders from the environment, never printed. A value must fit the line it lands in
  # (a password inside DATABASE_URL: URL-safe, e.g. `openssl rand -hex 32`).
  python3 - "$secrets" "$WEBHOOK_SECRET_FILE" <<'PY'
import os, re, sys
from pathlib import Path
folder, skip = Path(sys.argv[1]), sys.argv[2]
missing = []
for f in sorted(folder.glob("*.env")):
    if f.name == skip:
        continue
    text = f.read_text()
    def fill(m):
        value = os.environ.get(m.group(1))
        if not value or "\n" in value:
            missing.append(f"{m.group(0)} in k8s/base/secrets/{f.name}")
            return m.group(0)
        return value
    f.write_text(re.sub(r"__([A-Z][A-Z0-9_]*)__", fill, text))
if missing:
    sys.exit("deploy: error: no value for " + ", ".join(missing)
             + ": set the variable of that name (without the underscores) from the secret store")
PY
  say "secrets filled from the environment; the Stripe webhook secret of $NS:"
  "$TOOLS" inject-stripe-secret --namespace "$NS" --store "$STRIPE_STORE" --target "$secrets/$WEBHOOK_SECRET_FILE"
else
  say "DRY_RUN: secrets left as placeholders, Stripe not called"
fi

# --- 3. render and validate ------------------------------------------------------------------
RENDERED=$STAGE/rendered.yaml
render "$RENDERED"
rm -f "$STAGE/first.yaml"
if [ -n "${K8S_VALIDATE:-}" ]; then
  say "validating the rendering offline"
  # shellcheck disable=SC2086  # K8S_VALIDATE is a command line
  $K8S_VALIDATE "$RENDERED" >&2 || die "the rendering of $OVERLAY does not validate"
fi
mapfile -t DEPLOYMENTS < <(objects "$RENDERED" | awk '$1 == "Deployment" { print $2 }')
if [ -n "${ROLLBACK:-}" ]; then
  python3 - "$RENDERED" "$JOB" <<'PY'
import re, sys
path, job = sys.argv[1], sys.argv[2]
docs = open(path).read().split("\n---\n")
keep = [d for d in docs if not (re.search(r"(?m)^kind: Job$", d) and re.search(rf"(?m)^  name: {re.escape(job)}$", d))]
assert len(keep) == len(docs) - 1, f"no Job {job} to leave out"
open(path, "w").write("\n---\n".join(keep))
PY
  say "ROLLBACK: Job $JOB left out; the schema stays as it is (forward-only migrations)"
fi

summary() {
  awk '/^kind: /{k=$2; n=""} /^  name: /{ if (k=="Deployment" || k=="Job" || k=="StatefulSet") n=$2 }
       /^ *image: /{ if (n != "") print "  " k "/" n ": " $2 }' "$RENDERED" | sort -u >&2
}

if [ -n "${DRY_RUN:-}" ]; then
  say "DRY_RUN: rendered $RENDERED (${#DEPLOYMENTS[@]} Deployments, Job $JOB); nothing applied:"
  summary
  exit 0
fi

# --- 4. apply, database, migration -----------------------------------------------------------
job_state() {
  "$KUBECTL" -n "$NS" get job "$JOB" --ignore-not-found \
    -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}'
}
# A failed Job of this release never runs again by itself (and its template is immutable):
# remove it so this deploy runs the migration again, e.g. after the data was fixed.
if [ -z "${ROLLBACK:-}" ] && [[ " $(job_state) " == *" Failed "* ]]; then
  say "Job $JOB of an earlier attempt failed; deleting it so the migration runs again"
  "$KUBECTL" -n "$NS" delete job "$JOB" --wait=true
fi

say "applying $(objects "$RENDERED" | wc -l) objects"
"$KUBECTL" apply -f "$RENDERED"

say "waiting for the database (StatefulSet database, ${DB_TIMEOUT})"
"$KUBECTL" -n "$NS" rollout status statefulset/database --timeout="$DB_TIMEOUT" \
  || die "the database StatefulSet did not become ready within $DB_TIMEOUT"

[ -n "${ROLLBACK:-}" ] || say "waiting for the migration (Job $JOB, ${MIGRATE_TIMEOUT}s)"
deadline=$(($(date +%s) + MIGRATE_TIMEOUT))
while [ -z "${ROLLBACK:-}" ]; do
  state=" $(job_state) "
  if [[ $state == *" Complete "* ]]; then
    say "migration Job $JOB complete"
    break
  fi
  if [[ $state == *" Failed "* ]] || [ "$(date +%s)" -ge "$deadline" ]; then
    why=$([[ $state == *" Failed "* ]] && echo "failed" || echo "did not finish within ${MIGRATE_TIMEOUT}s")
    say "migration Job $JOB $why; its log:"
    "$KUBECTL" -n "$NS" logs "job/$JOB" --all-containers --tail=200 >&2 || true
    die "migration $why: nothing else was changed; the new backend pods stay unready (they wait for the schema) and the running ones keep serving. See docs/runbook-releases.md (recovering from a failed migration)"
  fi
  sleep "$POLL_SECONDS"
done

# --- 5. rollouts -------------------------------------------------------------------------------
for d in "${DEPLOYMENTS[@]}"; do
  say "waiting for deployment/$d (${ROLLOUT_TIMEOUT})"
  "$KUBECTL" -n "$NS" rollout status "deployment/$d" --timeout="$ROLLOUT_TIMEOUT" \
    || die "deployment/$d did not roll out within $ROLLOUT_TIMEOUT (kubectl -n $NS rollout undo deployment/$d returns to the previous release)"
done

say "deployed release $TAG of $OVERLAY into namespace $NS:"
summary
