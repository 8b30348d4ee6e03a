"""kmeme.worker's restart loop, in this process with a stand-in for procrastinate's app (the real worker, facing
real faults, is in test_worker_faults.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import psycopg
from procrastinate.exceptions import ConnectorException

from kmeme.worker import Backoff, WorkerRunner, failure_cause


def _database_error() -> ConnectorException:
    try:
        try:
            raise psycopg.OperationalError("connection failed: the database system is shutting down")
        except psycopg.OperationalError as exc:
            raise ConnectorException from exc
    except ConnectorException as wrapped:
        return wrapped


class StandInApp:
    """Plays procrastinate's App for WorkerRunner: each run of the worker does what the next of `runs` does."""

    def __init__(self, runs: list[Callable[[], Awaitable[None]]]) -> None:
        self.runs = runs
        self.connectors: list[object] = []
        self.options: list[dict] = []
        self.started = asyncio.Event()

    @contextlib.contextmanager
    def replace_connector(self, connector: object) -> Iterator[StandInApp]:
        self.connectors.append(connector)
        yield self

    @contextlib.asynccontextmanager
    async def open_async(self) -> AsyncIterator[StandInApp]:
        yield self

    async def run_worker_async(self, **options: object) -> None:
        self.options.append(options)
        self.started.set()
        await self.runs.pop(0)()


async def _fails() -> None:
    raise _database_error()


async def _stops_by_itself() -> None:
    return None


async def _runs_until_cancelled() -> None:
    await asyncio.Event().wait()


def _runner(app: StandInApp) -> WorkerRunner:
    return WorkerRunner(
        app=app,  # type: ignore[arg-type]
        connector_factory=object,
        worker_options={"queues": ["pipeline"]},
        backoff=Backoff(first_s=0.01, max_s=0.02),
    )


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_healthy_run():
    backoff = Backoff(first_s=1, max_s=30, healthy_after_s=60)
    delays, delay = [], None
    for _ in range(7):
        delay = backoff.next_delay(delay, ran_s=2)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay(30, ran_s=3600) == 1


def test_a_database_error_is_named_by_the_driver_error_not_procrastinate_s_wrapper():
    assert failure_cause(_database_error()) == (
        "OperationalError: connection failed: the database system is shutting down"
    )
    assert failure_cause(RuntimeError()) == "RuntimeError"


def test_a_worker_that_ends_on_its_own_is_started_again_with_a_fresh_connector_until_sigterm(caplog):
    app = StandInApp([_fails, _stops_by_itself, _runs_until_cancelled])
    runner = _runner(app)

    async def scenario() -> None:
        running = asyncio.create_task(runner.run())
        while len(app.options) < 3:
            await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)  # handled by the runner: a graceful stop
        await asyncio.wait_for(running, timeout=5)

    with caplog.at_level(logging.INFO, logger="kmeme.worker"):
        asyncio.run(scenario())

    assert runner.restarts == 2 and len(app.connectors) == 3  # a new pool for every worker
    assert all(options == {"queues": ["pipeline"], "install_signal_handlers": False} for options in app.options)
    restarts = [r.getMessage() for r in caplog.records if "stopped unexpectedly" in r.getMessage()]
    assert "OperationalError: connection failed: the database system is shutting down" in restarts[0]
    assert "it stopped by itself" in restarts[1] and "again in 0.02 s (restart 2)" in restarts[1]
    assert any("SIGTERM: the worker stops once its running job has finished" in r.getMessage() for r in caplog.records)


def test_a_stop_during_the_backoff_ends_the_runner_without_starting_another_worker():
    app = StandInApp([_fails])
    runner = WorkerRunner(app=app, connector_factory=object, backoff=Backoff(first_s=30))  # type: ignore[arg-type]

    async def scenario() -> None:
        running = asyncio.create_task(runner.run())
        await app.started.wait()
        while runner.restarts == 0:
            await asyncio.sleep(0.01)
        runner.request_stop("test")
        await asyncio.wait_for(running, timeout=5)

    asyncio.run(scenario())
    assert runner.restarts == 1 and len(app.connectors) == 1
