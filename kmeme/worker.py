"""The job worker, kept running through database and Redis restarts (`manage.py worker`).

procrastinate 3.10's worker stops as soon as one of its side tasks (the LISTEN connection, the heartbeat, the
periodic deferrer) hits a database error — and it stops *normally*, so `manage.py procrastinate worker` exits
with status 0 after a PostgreSQL restart, and nothing restarts it. A database error while it fetches or finishes
a job ends it with an exception instead. `WorkerRunner` runs it in a loop: whenever it ends without having been
asked to (SIGTERM, or SIGINT), one log line says why, and a fresh worker — a new connection pool, a new worker
row with its own heartbeat — starts after a backoff (1 s, doubling up to 30 s; back to 1 s once a worker has run
for a minute). While the database is down, opening the new pool waits for it (up to 30 s, then the next try).

A job that was running when the database went away stays marked as running under the old worker, whose
heartbeat has stopped: kmeme.tasks.jobs_retry_stalled queues it again once it is JOB_STALLED_AFTER_S old. Its
steps are idempotent, so running it again repeats nothing that finished.

Redis is used only by the jobs themselves (cache invalidation, the AI circuit breaker): a job that hits a Redis
error fails and is retried by its task's RetryStrategy, and the worker carries on.

Stopping: the first SIGTERM or SIGINT lets the running job finish (procrastinate's graceful stop), then the
process exits 0; a second one ends the process at once (status 1), and the stalled-job sweep brings its job
back. A SIGINT that was ignored when the process started (a background job of a shell script) stays ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from procrastinate import App, exceptions
from procrastinate.connector import BaseAsyncConnector

logger = logging.getLogger("kmeme.worker")


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting the worker again: `first_s`, doubling up to `max_s`; `first_s` again after
    a worker that ran `healthy_after_s` (so one restart a day never waits long)."""

    first_s: float = 1.0
    max_s: float = 30.0
    healthy_after_s: float = 60.0

    def next_delay(self, previous_s: float | None, ran_s: float) -> float:
        if previous_s is None or ran_s >= self.healthy_after_s:
            return self.first_s
        return min(previous_s * 2, self.max_s)


def failure_cause(exc: BaseException) -> str:
    """The error that ended a worker, named by its root cause: procrastinate wraps every driver error in a
    `ConnectorException` whose own message is only "Database error."."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# Lost connections are expected here and fully described by their message; anything else is a bug worth a traceback.
_EXPECTED_ERRORS = (exceptions.ConnectorException, psycopg.Error, OSError)


class WorkerRunner:
    """Runs `app`'s worker until a stop signal, starting it again whenever it ends on its own.

    `connector_factory` makes the connector of each worker (a fresh psycopg pool: a pool that failed to open
    cannot be opened again). `worker_options` are procrastinate's (queues, name, concurrency, …).
    """

    def __init__(
        self,
        *,
        app: App,
        connector_factory: Callable[[], BaseAsyncConnector],
        worker_options: dict[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.app = app
        self.connector_factory = connector_factory
        self.worker_options = {**(worker_options or {}), "install_signal_handlers": False}
        self.backoff = backoff or Backoff()
        self.restarts = 0
        self._stop = asyncio.Event()
        self._current: asyncio.Task[None] | None = None

    def request_stop(self, reason: str = "stop requested") -> None:
        """Graceful stop: the running job finishes first. Called a second time: end the process now."""
        if self._stop.is_set():
            logger.warning("%s again: stopping at once; the stalled-job sweep will queue the running job again", reason)
            logging.shutdown()
            os._exit(1)
        logger.info("%s: the worker stops once its running job has finished (again to stop at once)", reason)
        self._stop.set()
        if self._current is not None and not self._current.done():
            self._current.cancel()  # procrastinate's worker turns cancellation into its graceful stop

    async def run(self) -> None:
        """Run until a stop is requested (through `request_stop` or a signal)."""
        loop = asyncio.get_running_loop()
        handled = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            handled.append(signal.SIGINT)
        for sig in handled:
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        try:
            await self._run_until_stopped(loop)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _run_until_stopped(self, loop: asyncio.AbstractEventLoop) -> None:
        delay: float | None = None
        while not self._stop.is_set():
            started = loop.time()
            self._current = asyncio.create_task(self._run_once(), name="job worker")
            error: Exception | None = None
            try:
                await self._current
            except asyncio.CancelledError:
                if not self._stop.is_set():
                    raise
            except Exception as exc:
                error = exc
            if self._stop.is_set():
                break
            ran_s = loop.time() - started
            delay = self.backoff.next_delay(delay, ran_s)
            self.restarts += 1
            cause = failure_cause(error) if error else "it stopped by itself (its error is logged above)"
            logger.error(
                "Job worker stopped unexpectedly after %.0f s: %s. Starting it again in %g s (restart %d).",
                ran_s,
                cause,
                delay,
                self.restarts,
                exc_info=error if error is not None and not isinstance(error, _EXPECTED_ERRORS) else None,
                extra={"action": "worker_restart", "restarts": self.restarts, "delay_s": delay},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _run_once(self) -> None:
        with self.app.replace_connector(self.connector_factory()) as app:
            async with app.open_async():
                await app.run_worker_async(**self.worker_options)
