# Shared by the scripts/*.sh build glue (sourced, not run): progress lines with the elapsed time,
# and on failure ONE line naming the step that failed and the command to run next.
#   step "building local/rust:1.96-trixie" "scripts/offline-bases.sh rust"
#   ... work ...
#   step_done
# shellcheck shell=bash

LIB_START=${LIB_START:-$(date +%s)}
export LIB_START  # nested scripts keep counting from the outer start

elapsed() {
  local s=$(($(date +%s) - LIB_START))
  printf '%d:%02d' $((s / 60)) $((s % 60))
}

log() { printf '==> [%s] %s\n' "$(elapsed)" "$*" >&2; }

STEP=""
STEP_NEXT=""
step() {
  STEP=$1
  STEP_NEXT=${2:-}
  STEP_START=$(date +%s)
  log "$STEP"
}

# step_done [NAME]: NAME defaults to the step's text without its "(...)" detail.
# shellcheck disable=SC2120
step_done() {
  log "${1:-${STEP%% (*}}: done in $(($(date +%s) - STEP_START))s"
  STEP=""
}

# A failed step prints what failed and what to run next; the tool's own output is just above.
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$STEP" ]; then
    printf 'error: %s: failed after %ss (exit %s)%s\n' "$STEP" "$(($(date +%s) - STEP_START))" "$rc" \
      "${STEP_NEXT:+; fix the cause above, then run: $STEP_NEXT}" >&2
  fi
  return "$rc"
}
trap on_exit EXIT

die() {
  printf 'error: %s\n' "$*" >&2
  STEP=""
  exit 1
}
