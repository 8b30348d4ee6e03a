#!/usr/bin/env bash
# Keep a command running: whenever it ends — crashed, killed, or exited on its own — say so and start it again,
# after 1 s, doubling up to 30 s while it keeps dying young (1 s again once a run lasted a minute). `make run`
# runs the job worker under it, so a worker that dies is back in seconds and never takes the web server down.
#
#   scripts/supervise.sh NAME COMMAND [ARG…]
#
# SIGTERM (or SIGINT) is passed on to the command, which is waited for; then this script exits 0. A second one is
# passed on too (the job worker then stops at once instead of finishing its job).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

[ $# -ge 2 ] || { echo "usage: $0 NAME COMMAND [ARG…]" >&2; exit 2; }
name=$1
shift
warn() { printf '  %s!%s %s\n' "$R" "$N" "$*" >&2; }

child=
pause=
stopping=
stop() {
  stopping=1
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi
  if [ -n "$pause" ]; then kill "$pause" 2>/dev/null || true; fi
}
trap stop TERM INT

delay=1
restarts=0
while :; do
  started=$SECONDS
  "$@" &
  child=$!
  if [ "$restarts" -gt 0 ]; then ok "$name started again (pid $child)"; fi
  # A trapped signal makes `wait` return early: wait until the command has really ended.
  while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=
  [ -z "$stopping" ] || exit 0
  ran=$((SECONDS - started))
  if [ "$ran" -ge 60 ]; then delay=1; fi
  restarts=$((restarts + 1))
  warn "$name ended (exit status $status after ${ran}s); starting it again in ${delay}s (restart $restarts)"
  sleep "$delay" &
  pause=$!
  wait "$pause" 2>/dev/null
  pause=
  [ -z "$stopping" ] || exit 0
  delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
