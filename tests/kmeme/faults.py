"""Real faults for tests/kmeme/test_worker_faults.py: restart this checkout's PostgreSQL and Redis, run and kill real
`manage.py worker` processes, and a video whose download waits until the test lets it go."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection, connections

from tests.kmeme.media.helpers import file_handler

ROOT = Path(settings.BASE_DIR)
PG_BIN = Path("/usr/lib/postgresql/15/bin")  # as in scripts/services.sh
PGDATA = ROOT / ".local" / "postgres"


def external_services() -> str:
    """Why the local services cannot be restarted here ('' when they can): a DATABASE_URL / REDIS_URL server is
    someone else's, and `make test` never restarts it."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(name):
            return f"{name} points at an external server"
    if not (PGDATA / "postmaster.pid").exists():
        return "this checkout's PostgreSQL is not running (scripts/services.sh start)"
    return ""


def _as_pg(*cmd: str) -> list[str]:
    """PostgreSQL refuses to run as root: the cluster then belongs to the postgres user (as_pg in services.sh)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def pg_restart() -> None:
    """`pg_ctl restart -m fast`: every session is cut, the server is back within a second or two. Django's own
    connections in this process are dead afterwards, so they are closed here."""
    # Without a log file the restarted server would keep this process's pipes open.
    pg_ctl = _as_pg(str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-l", str(PGDATA / "server.log"))
    subprocess.run([*pg_ctl, "restart", "-m", "fast", "-w", "-t", "60"], check=True, capture_output=True, timeout=90)  # noqa: S603
    connections.close_all()


def services(*args: str) -> str:
    """scripts/services.sh, as `make` runs it; returns what it printed."""
    done = subprocess.run(["bash", "scripts/services.sh", *args], cwd=ROOT, capture_output=True, text=True, timeout=90)  # noqa: S603,S607
    assert done.returncode == 0, f"services.sh {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def worker_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for a worker process."""
    db = connection.settings_dict
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    return f"postgis://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def wait_until(check: Callable[[], object], *, timeout: float, what: str, log: Callable[[], str] = str) -> object:
    """Poll `check` until it returns something true; fail naming `what` (and the worker's log) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n--- worker log ---\n{log()[-6000:]}")
        time.sleep(0.2)


class WorkerProcess:
    """A real `manage.py worker` (or a command running one, like scripts/supervise.sh) on the test database,
    with short heartbeats, its output in a log file."""

    def __init__(self, *, log_path: Path, media_root: Path, heartbeat_s: float = 1, stalled_after_s: float = 3) -> None:
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kmeme.settings_test",
            "DATABASE_URL": worker_database_url(),
            "JOB_HEARTBEAT_S": str(heartbeat_s),
            "JOB_STALLED_AFTER_S": str(stalled_after_s),
            "MEDIA_ROOT": str(media_root),
            "GEMINI_API_KEY": "",
            "ANTHROPIC_API_KEY": "",
            "LOG_FORMAT": "plain",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *command: str) -> WorkerProcess:
        command = command or (sys.executable, "manage.py", "worker")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own commands
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def count(self, text: str) -> int:
        return self.log().count(text)

    def wait_for_log(self, text: str, *, times: int = 1, timeout: float = 30) -> None:
        wait_until(
            lambda: self.count(text) >= times, timeout=timeout, what=f"{text!r} ×{times} in the log", log=self.log
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then SIGKILL for the whole process group if it does not end in time; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


class GatedVideo:
    """A video whose download waits, on its first request, until the test calls `release()`: a job that is
    certainly running while the test does something to its worker or to the services."""

    def __init__(self, data: bytes) -> None:
        self.arrived = threading.Event()
        self._release = threading.Event()
        self._serve = file_handler(data)

    def release(self) -> None:
        self._release.set()

    def __call__(self, req: http.server.BaseHTTPRequestHandler) -> None:
        self.arrived.set()
        self._release.wait(timeout=30)
        self._serve(req)


@contextmanager
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start as many worker processes as a test needs; every one is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(*command: str, **kwargs: float) -> WorkerProcess:
        n = len(started) + 1
        worker = WorkerProcess(log_path=tmp_path / f"worker-{n}.log", media_root=tmp_path / "media", **kwargs)
        started.append(worker.start(*command))
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
