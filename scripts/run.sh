#!/usr/bin/env bash
# `make run`: provision what is missing, start local services, migrate, load demo
# data, then serve the site on http://127.0.0.1:8000 with a job worker beside it.
# Ctrl-C stops the server, the worker, and the services this run started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

bash scripts/provision.sh
start_services

PY=.venv/bin/python
PORT=$(env_value KMEME_PORT); PORT=${PORT:-8000}
step "Preparing the database"
$PY manage.py migrate --noinput | grep -v -E '^(Operations to perform|  Apply all migrations|Running migrations|  No migrations to apply)' || true
ok "migrations applied"
$PY manage.py seed_demo
$PY manage.py dev_admin

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  step "Stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Stop only the services this run started; leave ones that were already up.
  stop_started_services
}
trap cleanup INT TERM EXIT

step "Starting the job worker and the web server (Ctrl-C stops both)"
$PY manage.py procrastinate worker &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)
echo "  Site:  http://127.0.0.1:$PORT/admin/   API docs: http://127.0.0.1:$PORT/api/docs/"
bash scripts/services.sh status | sed 's/^/  /'
wait -n "${pids[@]}"
