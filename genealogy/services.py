"""Writes of the genealogy app: the performance counters that strategy stats are computed from."""

from __future__ import annotations

from datetime import datetime

from genealogy.models import NodePerformanceSnapshot
from remix.models import RemixNode


def snapshot_record(
    *, node: RemixNode, views: int, likes: int, shares: int, captured_at: datetime
) -> NodePerformanceSnapshot:
    """Record a node's public counters at one moment (one row per node and instant)."""
    snapshot = NodePerformanceSnapshot(node=node, views=views, likes=likes, shares=shares, captured_at=captured_at)
    snapshot.full_clean()
    snapshot.save()
    return snapshot
