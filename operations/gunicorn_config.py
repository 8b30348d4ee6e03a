"""gunicorn settings for Prometheus's multiprocess mode (`gunicorn -c python:operations.gunicorn_config …`).

With PROMETHEUS_MULTIPROC_DIR set, every worker writes its request metrics to files in that folder and /metrics
reports their sum (operations.metrics). The folder must start empty (old workers' counts would be added in), and a
worker that exits must be marked dead so its live gauges go with it. Without the variable this does nothing.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from prometheus_client import multiprocess


def _folder() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: Any) -> None:
    folder = _folder()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if _folder():
        multiprocess.mark_process_dead(worker.pid)
