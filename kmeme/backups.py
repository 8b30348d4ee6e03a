"""Database backups with pgBackRest, for the nightly job (kmeme.tasks.db_backup_nightly).

The worker runs `pgbackrest backup` only where it can reach the cluster's data folder: the local stack (the
configuration scripts/backup.sh writes for this checkout's cluster) or a worker on the database host itself. Where
the database runs elsewhere (a managed database, a separate host) PGBACKREST_CONFIG stays empty, this job does
nothing, and the backups are the database host's cron or the provider's (README, "Backups and restore").
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

logger = logging.getLogger("kmeme.backups")

BACKUP_TYPES = ("full", "diff", "incr")


class BackupError(Exception):
    """pgBackRest could not take the backup (or is half-configured); the message says why."""


@dataclass(frozen=True)
class BackupResult:
    kind: str
    stanza: str
    seconds: float
    label: str  # the backup's label in `pgbackrest info` ("" when pgBackRest did not print one)


def backup_command(*, config: Path, stanza: str, kind: str) -> list[str]:
    """The pgbackrest command line, run as the owner of its configuration when we are root: pgBackRest, like
    PostgreSQL, must not write root-owned files into a repository the cluster's own user archives WAL into."""
    command = [
        "pgbackrest",
        f"--config={config}",
        f"--stanza={stanza}",
        f"--type={kind}",
        "--log-level-console=info",
        "backup",
    ]
    owner = config.stat().st_uid
    if os.geteuid() == 0 and owner != 0:
        command = ["runuser", "-u", pwd.getpwuid(owner).pw_name, "--", *command]
    return command


def backup_run(*, kind: str = "full") -> BackupResult | None:
    """Take a pgBackRest backup of the configured cluster; pgBackRest then expires what its retention lets go.

    Returns None when no backup is configured here (PGBACKREST_CONFIG empty). Raises BackupError, after logging it,
    when pgBackRest fails or its configuration is missing: a failed nightly backup must never look like a quiet one.
    """
    if kind not in BACKUP_TYPES:
        raise BackupError(f"Unknown backup type {kind!r}: one of {', '.join(BACKUP_TYPES)}.")
    if not settings.PGBACKREST_CONFIG:
        logger.info("No pgBackRest configuration here (PGBACKREST_CONFIG): backups are taken where the database runs")
        return None
    config, stanza = Path(settings.PGBACKREST_CONFIG), settings.PGBACKREST_STANZA
    extra = {"action": "db_backup", "kind": kind, "stanza": stanza}
    if not config.is_file():
        logger.error("Database backup impossible: %s does not exist", config, extra=extra)
        raise BackupError(f"PGBACKREST_CONFIG names {config}, which does not exist.")
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 (a fixed program; the arguments come from settings, not from users)
            backup_command(config=config, stanza=stanza, kind=kind),
            # Backup labels carry the local time and must increase: Django sets TZ to TIME_ZONE, the shell's
            # `make backup` does not, so every caller names its backups in UTC.
            env={**os.environ, "TZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=settings.PGBACKREST_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.error("Database backup failed: %s", error, extra=extra)
        raise BackupError(f"pgbackrest {kind} backup of stanza {stanza!r} failed: {error}") from error
    seconds = time.monotonic() - started
    if done.returncode != 0:
        # pgBackRest prints its error as "ERROR: [055]: ..." followed by indented details and HINT lines.
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        first = next((i for i, line in enumerate(lines) if "ERROR:" in line), max(len(lines) - 3, 0))
        reason = " ".join(lines[first : first + 4]) or f"exit status {done.returncode}"
        logger.error("Database backup failed (exit status %s): %s", done.returncode, reason, extra=extra)
        raise BackupError(f"pgbackrest {kind} backup of stanza {stanza!r} failed: {reason}")
    marker = "new backup label = "
    labels = [line.split(marker, 1)[1].strip() for line in done.stdout.splitlines() if marker in line]
    label = labels[-1] if labels else ""
    logger.info("Database %s backup %s done in %.1f s", kind, label, seconds, extra={**extra, "label": label})
    return BackupResult(kind=kind, stanza=stanza, seconds=seconds, label=label)
