"""A progress bar for long management commands: redrawn in place on a terminal, a line per 10 % otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], *, total: int, label: str, stream: IO[str] | None = None) -> Iterator[T]:
    stream = stream or sys.stderr
    interactive = stream.isatty()
    started = time.monotonic()
    last_decile = -1
    done = 0

    def draw() -> None:
        nonlocal last_decile
        fraction = done / total if total else 1.0
        elapsed = time.monotonic() - started
        if interactive:
            bar = "#" * int(fraction * 30)
            stream.write(f"\r{label} [{bar:<30}] {done}/{total} {elapsed:5.1f}s")
            stream.flush()
        elif int(fraction * 10) > last_decile:
            last_decile = int(fraction * 10)
            stream.write(f"{label}: {done}/{total} ({fraction:.0%}) {elapsed:.1f}s\n")

    draw()
    for item in items:
        yield item
        done += 1
        draw()
    if interactive:
        stream.write("\n")
