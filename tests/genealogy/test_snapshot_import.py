"""Counts of platforms that hide them, imported from a CSV in the admin: all rows or none, errors by line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditLog, Role
from genealogy.models import NodePerformanceSnapshot, SnapshotSource
from genealogy.services import snapshot_record, snapshots_import_csv
from kmeme.errors import ApplicationError
from tests.accounts.factories import UserFactory
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db

URL = "/admin/genealogy/nodeperformancesnapshot/import/"


def _upload(text: str) -> dict:
    return {"file": SimpleUploadedFile("counts.csv", text.encode(), content_type="text/csv")}


def test_an_editor_imports_counts_with_unknowns_kept_apart_from_zero(editor_session, editor_user):
    node, other = published_master("A"), published_master("B")
    text = (
        "node,captured_at,views,likes,comments,shares\n"
        f"{node.public_id},2025-05-01T14:00:00+09:00,1000,,12,0\n"
        f"{other.pk},2025-05-02 09:30,2500,40,,\n"
    )
    response = editor_session.post(URL, _upload(text), follow=True)
    assert response.status_code == 200
    assert "Imported 2 snapshots." in response.content.decode()
    first = node.snapshots.get()
    assert (first.views, first.likes, first.comments, first.shares) == (1000, None, 12, 0)  # hidden ≠ 0
    assert first.source == SnapshotSource.CSV_IMPORT and first.imported_by == editor_user
    assert first.captured_at == timezone.datetime.fromisoformat("2025-05-01T14:00:00+09:00")
    assert other.snapshots.get().views == 2500
    entry = AuditLog.objects.get(action="snapshots.import_csv")
    assert entry.actor == editor_user and entry.details["rows"] == 2 and entry.details["filename"] == "counts.csv"


def test_any_bad_row_means_nothing_is_written_and_every_problem_is_listed(editor_session):
    node = published_master()
    snapshot_record(node=node, views=5, captured_at=timezone.datetime.fromisoformat("2025-05-03T00:00:00+00:00"))
    future = (timezone.now() + timedelta(days=2)).isoformat()
    text = (
        "node,captured_at,views,likes\n"
        f"{node.public_id},2025-05-01T00:00:00+00:00,100,1\n"  # fine on its own
        f"{node.public_id},yesterday,-3,1\n"  # line 3: two problems
        "00000000-0000-0000-0000-000000000000,2025-05-01T00:00:00+00:00,1,1\n"  # line 4: no such node
        f"{node.public_id},2025-05-01T00:00:00+00:00,7,\n"  # line 5: same instant as line 2
        f"{node.public_id},2025-05-03T00:00:00+00:00,9,\n"  # line 6: already recorded
        f"{node.public_id},{future},9,\n"  # line 7: in the future
        f"{node.public_id},2025-05-04T00:00:00+00:00,,\n"  # line 8: no count at all
    )
    response = editor_session.post(URL, _upload(text))
    page = response.content.decode()
    assert response.status_code == 200 and "nothing was imported" in page
    with pytest.raises(ApplicationError) as caught:
        snapshots_import_csv(text=text, actor=None)
    error = caught.value
    assert error.code == "csv_invalid" and error.status_code == 400
    problems = {(e["line"], e["column"]) for e in error.details["errors"]}
    assert problems == {
        (3, "captured_at"),
        (3, "views"),
        (4, "node"),
        (5, "captured_at"),
        (6, "captured_at"),
        (7, "captured_at"),
        (8, ""),
    }
    assert "line 2" in next(e["message"] for e in error.details["errors"] if e["line"] == 5)
    assert NodePerformanceSnapshot.objects.count() == 1  # only the one from before
    assert not AuditLog.objects.filter(action="snapshots.import_csv").exists()


def test_a_wrong_header_is_refused_before_any_row():
    with pytest.raises(ApplicationError) as caught:
        snapshots_import_csv(text="id,when,views,dislikes\n1,2025-05-01,3,4\n", actor=None)
    problems = {(e["column"], e["message"]) for e in caught.value.details["errors"]}
    assert problems == {
        ("node", "this column is required"),
        ("captured_at", "this column is required"),
        ("id", "unknown column"),
        ("when", "unknown column"),
        ("dislikes", "unknown column"),
    }


def test_only_those_allowed_to_import_see_the_page(client, editor_user):

    viewer = UserFactory(role=Role.CREATOR)
    client.force_login(viewer)
    assert client.get(URL).status_code in (302, 403)
    client.force_login(editor_user)
    assert client.get(URL).status_code == 200
    assert "Import counts (CSV)" in client.get("/admin/genealogy/nodeperformancesnapshot/").content.decode()
