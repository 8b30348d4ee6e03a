"""Backups (kmeme.backups, scripts/backup.sh, scripts/restore_drill.sh): the nightly job fails visibly, the drill
refuses bad arguments, and a short drill backs up, loses and restores a scratch cluster of its own for real."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from procrastinate.contrib.django import app

from kmeme.backups import BackupError, backup_run
from kmeme.tasks import db_backup_nightly

ROOT = Path(settings.BASE_DIR)
needs_pgbackrest = pytest.mark.skipif(not shutil.which("pgbackrest"), reason="pgbackrest is not installed")


def failing_config(tmp_path: Path) -> Path:
    """A pgBackRest configuration whose stanza was never created: every backup with it fails."""
    config = tmp_path / "pgbackrest.conf"
    config.write_text(
        f"[global]\nrepo1-path={tmp_path / 'repo'}\nlog-path={tmp_path}\nlock-path={tmp_path}\n"
        f"[kmeme]\npg1-path={tmp_path / 'no-cluster'}\npg1-socket-path={tmp_path}\n"
    )
    return config


@needs_pgbackrest
def test_a_failing_backup_fails_the_nightly_job_and_is_logged(tmp_path, settings, caplog):
    settings.PGBACKREST_CONFIG = str(failing_config(tmp_path))
    with caplog.at_level(logging.ERROR, logger="kmeme.backups"), pytest.raises(BackupError) as failed:
        db_backup_nightly(timestamp=0)
    assert "pgbackrest full backup of stanza 'kmeme' failed" in str(failed.value)
    assert "ERROR" in str(failed.value)  # pgBackRest's own reason travels with it
    assert next(r.message for r in caplog.records if r.levelno == logging.ERROR).startswith("Database backup failed")


def test_a_configuration_that_is_not_there_is_an_error_not_a_skipped_backup(tmp_path, settings, caplog):
    settings.PGBACKREST_CONFIG = str(tmp_path / "missing.conf")
    with caplog.at_level(logging.ERROR, logger="kmeme.backups"), pytest.raises(BackupError, match="does not exist"):
        backup_run(kind="full")
    assert "Database backup impossible" in caplog.text


def test_without_a_configuration_the_worker_leaves_backups_to_the_database_host(settings, caplog):
    settings.PGBACKREST_CONFIG = ""
    with caplog.at_level(logging.INFO, logger="kmeme.backups"):
        assert backup_run(kind="full") is None
    assert "backups are taken where the database runs" in caplog.text


def test_only_full_diff_and_incr_backups_exist(settings):
    with pytest.raises(BackupError, match="Unknown backup type"):
        backup_run(kind="everything")


def test_the_full_backup_is_scheduled_nightly_on_the_maintenance_queue():
    periodic = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    nightly = periodic["kmeme.tasks.db_backup_nightly"]
    assert nightly.cron == "23 2 * * *"
    assert nightly.task.queue == "maintenance"


def drill(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        ["bash", "scripts/restore_drill.sh", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seconds", "abc"], "--seconds must be a whole number"),
        (["--seconds"], "--seconds needs a number"),
        (["--seconds=2"], "--seconds must be between 5 and 3600, not 2"),
        (["--lose-everything"], "unknown argument: --lose-everything"),
    ],
)
def test_the_drill_refuses_bad_arguments_before_touching_anything(args, message):
    done = drill(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "scripts/restore_drill.sh [--seconds N] [--keep]" in done.stderr  # the usage follows


def test_the_drill_explains_itself():
    done = drill("--help")
    assert done.returncode == 0
    assert "RTO (< 1 h)" in done.stdout
    assert "RPO (< 15 min)" in done.stdout


@needs_pgbackrest
def test_a_short_drill_backs_up_loses_and_restores_its_own_cluster(tmp_path):
    """The whole drill, shortened: ~30 s, mostly one row a second. It runs in a folder of its own under .local (the
    postgres user can reach it there), so neither the developer's cluster nor a `make restore-drill` is touched."""
    where = ROOT / ".local" / f"drill-test-{os.getpid()}"
    try:
        done = drill("--seconds", "5", env={"DRILL_DIR": str(where)}, timeout=300)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT: PASS" in done.stdout
    # Restored to T: the rows written before T are all back, none of those written after it.
    assert "0 of 5 written after T   PASS" in done.stdout
    assert done.stdout.count("recovery time (RTO)") == 2
    assert not where.exists()
