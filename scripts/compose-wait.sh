#!/usr/bin/env bash
# Wait until every container of a compose project is healthy (or running, when it has no
# healthcheck) and one-shot jobs exited 0. Fails fast on a job that exited non-zero and after
# TIMEOUT seconds. docker-compose 1.29 has no `up --wait`; this works with v1 and v2.
# Usage: scripts/compose-wait.sh TIMEOUT COMPOSE-COMMAND...
set -euo pipefail
timeout=$1; shift
DOCKER=${DOCKER:-docker}
deadline=$(( $(date +%s) + timeout ))
while :; do
  ids=$("$@" ps -q)
  pending=()
  for id in $ids; do
    read -r name status health code < <("$DOCKER" inspect -f \
      '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}' "$id")
    case "$status/$health" in
      running/healthy|running/none) ;;
      exited/*)
        if [ "$code" != 0 ]; then
          echo "${name#/} exited with code $code; its last log lines:" >&2
          "$DOCKER" logs --tail 30 "$id" >&2 || true
          exit 1
        fi ;;
      */unhealthy)
        echo "${name#/} is unhealthy" >&2; "$DOCKER" logs --tail 30 "$id" >&2 || true; exit 1 ;;
      *) pending+=("${name#/}:$status/$health") ;;
    esac
  done
  if [ -n "$ids" ] && [ ${#pending[@]} -eq 0 ]; then echo "all services up"; exit 0; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "timed out after ${timeout}s waiting for: ${pending[*]:-containers}" >&2; exit 1
  fi
  sleep 2
done
