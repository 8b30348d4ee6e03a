# The two commands a newcomer needs: `make run` and `make test`. See README.md.
.PHONY: run test provision services stop status backup backups restore restore-drill lint format clean

run:  ## provision, start services, migrate, load demo data, serve on :8000 with a worker
	@bash scripts/run.sh

test:  ## provision, start services, ruff, then pytest with coverage (PYTEST_ARGS="-k ready" to narrow)
	@bash scripts/test.sh

provision:  ## install what is missing: system packages, pgvector, the virtualenv
	@bash scripts/provision.sh

services:  ## start the local PostgreSQL and Redis only (on this checkout's ports, or moved to KMEME_*_PORT)
	@bash scripts/services.sh start

stop:  ## stop the local PostgreSQL and Redis, whatever port they run on
	@bash scripts/services.sh stop

status:  ## which local services run, on which port (.local/ports)
	@bash scripts/services.sh status

backup:  ## pgBackRest backup of the local PostgreSQL: TYPE=full (default), diff or incr
	@bash scripts/services.sh backup $(or $(TYPE),full)

backups:  ## list the backups in .local/backups (pgbackrest info) and when WAL was last archived
	@bash scripts/services.sh backups

restore:  ## point-in-time restore of the local PostgreSQL: TARGET="2026-11-22 10:00:00+00" (unset: to the newest archived WAL)
	@bash scripts/services.sh restore "$(TARGET)"

restore-drill:  ## back up, write, lose and restore a scratch cluster; prints the measured RTO and RPO (DRILL_ARGS="--seconds 90")
	@bash scripts/restore_drill.sh $(DRILL_ARGS)

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

format:
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

clean:  ## remove the virtualenv and local data (.venv, .local)
	@bash scripts/services.sh stop || true
	rm -rf .venv .local
