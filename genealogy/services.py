"""Writes of the genealogy app: the performance counters that strategy stats are computed from.

Counters arrive two ways, both through `snapshot_record`: the collector reads them from the platforms
(genealogy.performance), and editors import a CSV of counts for platforms that hide them (`snapshots_import_csv`).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_log_record
from genealogy.models import NodePerformanceSnapshot, NodePerformanceTracking, SnapshotSource
from genealogy.strategies import strategy_cache_drop
from kmeme.errors import ApplicationError
from remix.models import RemixNode


def snapshot_record(
    *,
    node: RemixNode,
    captured_at: datetime,
    views: int | None = None,
    likes: int | None = None,
    comments: int | None = None,
    shares: int | None = None,
    source: str = SnapshotSource.YTDLP,
    source_url: str = "",
    imported_by: User | None = None,
) -> NodePerformanceSnapshot:
    """Record a node's public counters at one moment (one row per node and instant). A counter the platform does
    not show is None, never 0; at least one must be known (ValidationError `snapshot_empty` otherwise)."""
    snapshot = NodePerformanceSnapshot(
        node=node,
        captured_at=captured_at,
        views=views,
        likes=likes,
        comments=comments,
        shares=shares,
        source=SnapshotSource(source),
        source_url=source_url,
        imported_by=imported_by,
    )
    snapshot.full_clean()
    snapshot.save()
    return snapshot


def tracking_record(*, node: RemixNode, url: str, at: datetime, error_code: str = "", error: str = "") -> None:
    """The collector's note of one read of `node` at `at`: a success clears the last error, a failure keeps it
    (with its code) until a read succeeds, so a URL that keeps failing is visible in the admin."""
    tracking, _ = NodePerformanceTracking.objects.select_for_update().get_or_create(node=node)
    tracking.last_attempt_at = at
    tracking.last_url = url[:2048]
    tracking.attempts += 1
    if error_code:
        tracking.last_error_code, tracking.last_error = error_code[:32], error[:2000]
        tracking.consecutive_failures += 1
    else:
        tracking.last_error_code, tracking.last_error = "", ""
        tracking.consecutive_failures = 0
        tracking.last_success_at = at
    tracking.save()


# --- The CSV import (admin): counts of platforms that hide them ---------------------------------------------------

CSV_COUNT_COLUMNS = ("views", "likes", "comments", "shares")
CSV_REQUIRED_COLUMNS = ("node", "captured_at")
CSV_MAX_ROWS = 10_000
CSV_MAX_ERRORS_SHOWN = 50
CSV_FUTURE_SLACK = timedelta(minutes=5)
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class CsvRowError:
    line: int  # the line of the file, the header being line 1
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


def _csv_invalid(errors: list[CsvRowError], total: int | None = None) -> ApplicationError:
    total = len(errors) if total is None else total
    shown = errors[:CSV_MAX_ERRORS_SHOWN]
    return ApplicationError(
        _("The file was not imported: %(total)s problem(s); nothing was written.") % {"total": total},
        code="csv_invalid",
        status_code=400,
        details={"errors": [e.as_dict() for e in shown], "error_count": total},
    )


def _csv_count(raw: str) -> int | None:
    raw = raw.strip().replace(",", "").replace("_", "")
    if raw == "":
        return None  # not shown by the platform: not zero
    if not _DIGITS.match(raw):
        raise ValueError("must be a whole number of 0 or more, or empty when the platform does not show it")
    return int(raw)


def _csv_instant(raw: str) -> datetime:
    value = parse_datetime(raw.strip())
    if value is None:
        raise ValueError("must be a date and time such as 2025-05-01T14:00:00+09:00")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # in the site's time zone, as the admin shows times
    if value > timezone.now() + CSV_FUTURE_SLACK:
        raise ValueError("is in the future")
    return value


def _csv_node_filter(keys: set[str]) -> Q:
    uuids, pks = set(), set()
    for key in keys:
        if _DIGITS.match(key):
            pks.add(int(key))
        else:
            uuids.add(uuid.UUID(key))
    return Q(public_id__in=uuids) | Q(pk__in=pks)


@transaction.atomic
def snapshots_import_csv(*, text: str, actor: User, filename: str = "") -> list[NodePerformanceSnapshot]:
    """Import counts from a CSV (columns: node, captured_at, and any of views, likes, comments, shares; `node` is
    a node's id or public UUID; an empty count means the platform does not show it). All or nothing: every row is
    validated first, and any problem raises ApplicationError `csv_invalid` (400) listing each row's errors by line
    and column; then nothing is written. Audited as `snapshots.import_csv`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    problems: list[CsvRowError] = []
    missing = [c for c in CSV_REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in (*CSV_REQUIRED_COLUMNS, *CSV_COUNT_COLUMNS)]
    if missing or unknown or not any(c in header for c in CSV_COUNT_COLUMNS):
        for column in missing:
            problems.append(CsvRowError(1, column, "this column is required"))
        for column in unknown:
            problems.append(CsvRowError(1, column, "unknown column"))
        if not any(c in header for c in CSV_COUNT_COLUMNS):
            problems.append(CsvRowError(1, "", f"at least one of {', '.join(CSV_COUNT_COLUMNS)} is required"))
        raise _csv_invalid(problems)
    reader.fieldnames = header

    parsed: list[tuple[int, str, datetime, dict[str, int | None]]] = []
    for row in reader:
        line = reader.line_num
        if len(parsed) + len(problems) >= CSV_MAX_ROWS:
            raise _csv_invalid([CsvRowError(line, "", f"the file has more than {CSV_MAX_ROWS} rows")])
        if None in row:
            problems.append(CsvRowError(line, "", "the row has more cells than the header"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        row_problems: list[CsvRowError] = []
        key = (row.get("node") or "").strip()
        if not key:
            row_problems.append(CsvRowError(line, "node", "is required"))
        elif not _DIGITS.match(key):
            try:
                key = str(uuid.UUID(key))
            except ValueError:
                row_problems.append(CsvRowError(line, "node", f"{key!r} is neither a node id nor a node UUID"))
        captured_at = None
        try:
            captured_at = _csv_instant(row.get("captured_at") or "")
        except ValueError as exc:
            row_problems.append(CsvRowError(line, "captured_at", str(exc)))
        counts: dict[str, int | None] = {}
        for column in CSV_COUNT_COLUMNS:
            try:
                counts[column] = _csv_count(row.get(column) or "")
            except ValueError as exc:
                row_problems.append(CsvRowError(line, column, str(exc)))
        if not row_problems and all(v is None for v in counts.values()):
            row_problems.append(CsvRowError(line, "", "no count: at least one of views, likes, comments, shares"))
        problems += row_problems
        if not row_problems and captured_at is not None:
            parsed.append((line, key, captured_at, counts))

    keys = {key for _, key, _, _ in parsed}
    nodes: dict[str, RemixNode] = {}
    if keys:
        for node in RemixNode.objects.filter(_csv_node_filter(keys)).only("pk", "public_id"):
            nodes[str(node.pk)] = nodes[str(node.public_id)] = node
    existing = set()
    if nodes:
        instants = {at for _, _, at, _ in parsed}
        existing = set(
            NodePerformanceSnapshot.objects.filter(
                node__in={n.pk for n in nodes.values()}, captured_at__in=instants
            ).values_list("node_id", "captured_at")
        )
    seen: dict[tuple[int, datetime], int] = {}
    snapshots: list[NodePerformanceSnapshot] = []
    for line, key, captured_at, counts in parsed:
        node = nodes.get(key)
        if node is None:
            problems.append(CsvRowError(line, "node", f"no node {key}"))
            continue
        pair = (node.pk, captured_at)
        if pair in existing:
            problems.append(CsvRowError(line, "captured_at", "this node already has a snapshot at this instant"))
            continue
        if pair in seen:
            problems.append(CsvRowError(line, "captured_at", f"the same node and instant as line {seen[pair]}"))
            continue
        seen[pair] = line
        snapshot = NodePerformanceSnapshot(
            node=node, captured_at=captured_at, source=SnapshotSource.CSV_IMPORT, imported_by=actor, **counts
        )
        try:  # the field rules; uniqueness was checked above for the whole file in one query
            snapshot.full_clean(exclude=["node", "imported_by"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                problems += [CsvRowError(line, field, message) for message in messages]
            continue
        snapshots.append(snapshot)
    if problems:
        problems.sort(key=lambda e: (e.line, e.column))
        raise _csv_invalid(problems)
    if not snapshots:
        raise _csv_invalid([CsvRowError(1, "", "the file has no rows")])
    created = NodePerformanceSnapshot.objects.bulk_create(snapshots)
    transaction.on_commit(strategy_cache_drop)
    audit_log_record(
        actor=actor,
        action="snapshots.import_csv",
        details={
            "filename": filename[:200],
            "rows": len(created),
            "nodes": len({s.node_id for s in created}),
            "captured_from": min(s.captured_at for s in created).isoformat(),
            "captured_to": max(s.captured_at for s in created).isoformat(),
        },
    )
    return created
