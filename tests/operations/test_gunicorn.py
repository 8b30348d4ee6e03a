"""Under gunicorn's several workers, /metrics reports every worker's requests, whichever worker answers the scrape
(prometheus_client's multiprocess mode, set up by operations.gunicorn_config as the Dockerfile runs it)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback http only
        return response.read().decode()


def test_two_gunicorn_workers_report_their_requests_together(tmp_path: Path):
    db = connection.settings_dict
    port = _free_port()
    folder = tmp_path / "prometheus"
    (folder).mkdir()
    (folder / "counter_99999.db").write_bytes(b"stale")  # a previous run's leftovers: emptied at start
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kmeme.settings",
        "DJANGO_DEBUG": "true",  # /metrics open on loopback
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "NO_PROXY": "127.0.0.1",
    }
    command = [sys.executable, "-m", "gunicorn", "kmeme.wsgi:application", "-c", "python:operations.gunicorn_config"]
    server = subprocess.Popen(  # noqa: S603 - our own app under the project's gunicorn
        [*command, "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/health")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("gunicorn did not start")
        assert not (folder / "counter_99999.db").exists()
        line = re.compile(
            r'^django_http_requests_latency_seconds_by_view_method_count\{method="GET",view="health"\} (\S+)$', re.M
        )
        before = float(line.search(_get(f"{base}/metrics")).group(1))  # the start-up probes
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(_get, [f"{base}/health"] * 39))
        pids = {match.group(1) for name in os.listdir(folder) if (match := re.search(r"_(\d+)\.db$", name))}
        assert len(pids) == 2, pids  # both workers served some of them
        for _ in range(6):  # whichever worker answers: every request of both
            assert float(line.search(_get(f"{base}/metrics")).group(1)) == before + 39
    finally:
        server.terminate()
        server.wait(timeout=30)
