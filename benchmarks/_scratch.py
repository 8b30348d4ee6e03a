"""A scratch database for benchmarks: `<your database>_bench`, created fresh and dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _base_url() -> str:
    import environ

    env = environ.Env()
    # As the settings do: the environment, then .env, then this checkout's own ports (scripts/services.sh).
    for source in (ROOT / ".env", ROOT / ".local" / "ports"):
        if source.is_file():
            env.read_env(source)
    port = env.int("KMEME_PG_PORT", default=54320)
    return env.str("DATABASE_URL", default=f"postgis://kmeme:kmeme@127.0.0.1:{port}/kmeme")


def _admin_dsn(url: str) -> tuple[str, str]:
    head, _, name = url.rpartition("/")
    return head.replace("postgis://", "postgresql://") + "/postgres", name.split("?")[0]


@contextmanager
def scratch_database() -> Iterator[str]:
    """Point Django (via DATABASE_URL) at a new empty database for the duration; drop it afterwards."""
    import psycopg

    base = _base_url()
    dsn, name = _admin_dsn(base)
    bench = f"{name}_bench"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench}"')
    os.environ["DATABASE_URL"] = base.rpartition("/")[0] + f"/{bench}"
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not have been set up
            pass
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]
