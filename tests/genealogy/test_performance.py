"""The performance collector: which nodes are due, reading them through yt-dlp from loopback pages, failures
and the per-platform rate limit, and the command that runs it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from genealogy.models import NodePerformanceSnapshot, NodePerformanceTracking, SnapshotSource
from genealogy.performance import (
    DAILY,
    HOURLY,
    nodes_due_for_snapshot,
    performance_collect,
    snapshot_at_age,
    snapshot_interval,
    snapshot_is_due,
    snapshot_next_due,
)
from genealogy.services import snapshot_record, tracking_record
from remix.forks import fork_publish, fork_update, node_fork
from remix.models import RemixNode
from tests.accounts.factories import UserFactory
from tests.genealogy.pages import page_handler, recording_handler, video_page
from tests.kmeme.media.helpers import serve
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


def _published(*, url: str = "https://www.tiktok.com/@a/video/1", age: timedelta = timedelta(hours=1)) -> RemixNode:
    node = published_master(title=f"Latte {url} {age}")
    RemixNode.objects.filter(pk=node.pk).update(source_url=url, published_at=timezone.now() - age)
    node.refresh_from_db()
    return node


def _tried(node: RemixNode, ago: timedelta) -> None:
    tracking_record(node=node, url=node.source_url, at=timezone.now() - ago)


@contextmanager
def _pages(**pages: dict[str, int]) -> Iterator[str]:
    """Serve a video page per name (its counts), and 404 for anything else."""
    box: list[str] = []
    routes = {
        f"/{name}": page_handler(lambda n=name, c=counts: video_page(box[0], name=n, **c))
        for name, counts in pages.items()
    }
    with serve(routes, fallback=recording_handler([])) as base:
        box.append(base)
        yield base


# --- when -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(hours=1), HOURLY),
        (timedelta(days=2), HOURLY),
        (timedelta(days=10), DAILY),
        (timedelta(days=70), None),
    ],
    ids=["1h", "2d", "10d", "70d"],
)
def test_how_often_a_node_is_read_by_its_age(age, interval):
    assert snapshot_interval(age=age) == interval


@pytest.mark.parametrize(
    ("age", "tried_ago", "due"),
    [
        (timedelta(hours=1), None, True),  # published an hour ago, never read
        (timedelta(hours=1), timedelta(minutes=30), False),
        (timedelta(hours=1), timedelta(minutes=59), True),  # within the slack of an hourly run
        (timedelta(days=2), timedelta(hours=2), True),  # hourly for 3 days
        (timedelta(days=10), timedelta(hours=2), False),  # then daily
        (timedelta(days=10), timedelta(hours=25), True),
        (timedelta(days=70), None, False),  # past 60 days: never
        (timedelta(days=70), timedelta(days=2), False),
    ],
    ids=["1h-never", "1h-30min", "1h-59min", "2d-2h", "10d-2h", "10d-25h", "70d-never", "70d-2d"],
)
def test_due_nodes_follow_the_schedule_in_python_and_in_sql(age, tried_ago, due):
    node = _published(age=age)
    if tried_ago is not None:
        _tried(node, tried_ago)
    last = None if tried_ago is None else timezone.now() - tried_ago
    assert snapshot_is_due(published_at=node.published_at, last_attempt_at=last) is due
    assert nodes_due_for_snapshot().filter(pk=node.pk).exists() is due


def test_the_next_read_after_the_last_is_an_interval_later_and_none_past_60_days():
    published = timezone.now() - timedelta(days=1)
    last = published + timedelta(hours=5)
    assert snapshot_next_due(published_at=published, last_attempt_at=last) == last + HOURLY
    old = timezone.now() - timedelta(days=59, hours=12)
    assert snapshot_next_due(published_at=old, last_attempt_at=old + timedelta(days=59, hours=1)) is None


def test_a_fork_is_read_from_its_posted_video_and_skipped_without_one():
    master = _published()
    creator = UserFactory(role=Role.CREATOR)
    fork = node_fork(master=master, creator=creator, title="Busan", mutation_types=["localization"])
    fork_publish(fork=fork, user=creator)
    assert not nodes_due_for_snapshot().filter(pk=fork.pk).exists()  # not read from its master's video
    with _pages(mine={"views": 300, "likes": 20}) as base:
        fork_update(fork=fork, user=creator, posted_url=f"{base}/mine")
        assert nodes_due_for_snapshot().filter(pk=fork.pk).exists()
        RemixNode.objects.filter(pk=master.pk).update(status="archived")  # only the fork is read here
        report = performance_collect()
    assert (report.recorded, report.failed) == (1, 0)
    snapshot = fork.snapshots.get()
    assert (snapshot.views, snapshot.likes, snapshot.comments, snapshot.shares) == (300, 20, None, None)
    assert snapshot.source == SnapshotSource.YTDLP and snapshot.source_url == f"{base}/mine"


# --- a run ------------------------------------------------------------------------------------------------------


def test_a_failing_url_does_not_stop_the_others_and_stays_visible():
    with _pages(one={"views": 1000, "likes": 50, "comments": 7}, two={"views": 20}) as base:
        first = _published(url=f"{base}/one")
        broken = _published(url=f"{base}/gone")
        last = _published(url=f"{base}/two")
        report = performance_collect()
    assert (report.due, report.recorded, report.failed, report.rate_limited) == (3, 2, 1, 0)
    assert [f.node_id for f in report.failures] == [broken.pk] and report.failures[0].code == "media_unreachable"
    assert first.snapshots.get().comments == 7 and last.snapshots.get().views == 20
    assert not broken.snapshots.exists()
    tracking = NodePerformanceTracking.objects.get(node=broken)
    assert tracking.last_error_code == "media_unreachable" and tracking.consecutive_failures == 1
    assert tracking.last_url == f"{base}/gone"
    assert NodePerformanceTracking.objects.get(node=first).last_error == ""
    # Nothing is due again within the hour, the failed one included (it is tried again at the next run).
    assert not nodes_due_for_snapshot().exists()


def test_a_page_without_counts_is_a_failure_not_a_row_of_zeros():
    with _pages(bare={}) as base:
        node = _published(url=f"{base}/bare")
        report = performance_collect()
    assert report.failed == 1 and report.failures[0].code == "no_counts"
    assert not node.snapshots.exists()


def _fresh_minute() -> None:
    """Start at the beginning of a rate window, so it cannot turn over in the middle of the test."""
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_the_per_platform_rate_limit_leaves_the_rest_due_for_the_next_run(settings):
    settings.PERFORMANCE_READS_PER_MINUTE = {"direct": 2, "default": 100}
    _fresh_minute()
    with _pages(**{f"v{i}": {"views": i + 1} for i in range(4)}) as base:
        nodes = [_published(url=f"{base}/v{i}", age=timedelta(hours=i + 1)) for i in range(4)]
        report = performance_collect(max_wait_s=0)
        again = performance_collect(max_wait_s=0)  # the same minute: the allowance is used up in Redis
    assert (report.due, report.recorded, report.rate_limited) == (4, 2, 2)
    assert (again.due, again.recorded, again.rate_limited) == (2, 0, 2)
    read = [n for n in nodes if n.snapshots.exists()]
    assert len(read) == 2
    assert nodes_due_for_snapshot().count() == 2  # the others wait for the next run


def test_the_command_reads_due_nodes_with_a_progress_bar_and_a_summary_line():
    with _pages(one={"views": 5, "likes": 1}) as base:
        node = _published(url=f"{base}/one")
        out, err = StringIO(), StringIO()
        call_command("snapshots_collect", "--dry-run", stdout=out, stderr=err)
        assert f"would read node {node.pk}" in out.getvalue()
        assert not node.snapshots.exists()
        out = StringIO()
        call_command("snapshots_collect", stdout=out, stderr=err)
    assert out.getvalue().strip().splitlines()[-1] == (
        "Performance snapshots: 1 due, 1 recorded, 0 failed, 0 left for the next run (rate limit)."
    )
    assert "Reading counters" in err.getvalue()
    assert node.snapshots.count() == 1


def test_the_command_fails_when_a_read_failed_and_records_the_rest():
    with _pages(one={"views": 5}) as base:
        _published(url=f"{base}/one")
        _published(url=f"{base}/missing")
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match="1 read"):
            call_command("snapshots_collect", stdout=out, stderr=err)
    assert "1 recorded, 1 failed" in out.getvalue()
    assert "failed node" in err.getvalue() and "/missing" in err.getvalue()
    assert NodePerformanceSnapshot.objects.count() == 1


# --- reading the series -------------------------------------------------------------------------------------------


def test_views_at_age_seven_days():
    node = _published(age=timedelta(days=9))
    for day, views in ((6, 600), (7, 700), (8, 800)):
        snapshot_record(node=node, views=views, captured_at=node.published_at + timedelta(days=day, minutes=-5))
    assert snapshot_at_age(node=node, age=timedelta(days=7)).views == 700
    assert snapshot_at_age(node=node, age=timedelta(days=3)) is None  # none within a day before
