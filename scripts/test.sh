#!/usr/bin/env bash
# `make test`: the same provisioning as `make run`, then ruff, the import contract and the whole pytest
# suite (with coverage, failing under 70 %) against real PostgreSQL/PostGIS/pgvector
# and Redis. pytest-django creates its own test database; the dev data is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The browser tests drive Debian's Chromium (never a browser a tool downloads itself), with a Korean font (Noto CJK):
# without one, Hangul renders as boxes in the screenshots the tests take.
KMEME_EXTRA_PACKAGES="${KMEME_EXTRA_PACKAGES:-} chromium fonts-noto-cjk" bash scripts/provision.sh
start_services
trap stop_started_services EXIT

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

step "import contract (the layers in pyproject.toml: no app imports upward, kmeme's infrastructure imports no app)"
.venv/bin/lint-imports --no-cache

step "pytest"
# The 70 % coverage bar applies to the whole suite, not to a run narrowed with PYTEST_ARGS.
cov_args=(--cov --cov-report=term)
[ -n "${PYTEST_ARGS:-}" ] && cov_args+=(--cov-fail-under=0)
# shellcheck disable=SC2086
.venv/bin/pytest "${cov_args[@]}" ${PYTEST_ARGS:-}
