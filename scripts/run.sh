#!/usr/bin/env bash
# `make run`: provision what is missing, start local services, migrate, load demo
# data, then serve the site on http://127.0.0.1:8000 with a job worker beside it.
# The worker runs under scripts/supervise.sh: one that dies is started again, and the
# site keeps serving. Ctrl-C stops the server, the worker (once its running job is
# done; Ctrl-C again to stop it at once), and the services this run started.
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
  trap - EXIT
  # A second Ctrl-C while the worker finishes its job is passed on: the worker then stops at once.
  trap 'kill -TERM "${pids[@]}" 2>/dev/null || true' INT TERM
  echo
  step "Stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
  done
  # Stop only the services this run started; leave ones that were already up.
  stop_started_services
}
trap cleanup INT TERM EXIT

step "Starting the job worker and the web server (Ctrl-C stops both)"
bash scripts/supervise.sh "job worker" $PY manage.py worker &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" &
web=$!
pids+=("$web")
echo "  Site:  http://127.0.0.1:$PORT/admin/   API docs: http://127.0.0.1:$PORT/api/docs/"
bash scripts/services.sh status | sed 's/^/  /'
# The run lasts as long as the web server: a worker that dies is the supervisor's business, not a reason to stop.
wait "$web"
