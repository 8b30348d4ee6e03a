# The two commands a newcomer needs: `make run` and `make test`. See README.md.
.PHONY: run test provision services stop status lint format clean

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

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

format:
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

clean:  ## remove the virtualenv and local data (.venv, .local)
	@bash scripts/services.sh stop || true
	rm -rf .venv .local
