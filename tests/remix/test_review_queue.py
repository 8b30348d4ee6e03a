"""Done means: an editor clears a queue of twenty mixed items without leaving the admin."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import AuditLog, Role
from remix.models import NodeStatus, RemixNode
from remix.pipeline import brief_regenerate_run
from remix.services import analysis_record, node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import brief_post, node_in_review

pytestmark = pytest.mark.django_db


def _fallback(title: str) -> RemixNode:
    node = node_create(title=title, source_url=f"https://cdn.example.com/{abs(hash(title))}.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="probe", status="fallback", duration_s=15, error="no AI key configured")
    node_transition(node=node, to=NodeStatus.NEEDS_REVIEW, actor=None)
    return node


def test_an_editor_clears_twenty_mixed_items_from_the_queue(client):
    editor = UserFactory(role=Role.EDITOR, display_name="Editor Kim")
    client.force_login(editor)
    good = [node_in_review(title=f"Good {i}")[0] for i in range(8)]
    bad = [node_in_review(title=f"Bad {i}")[0] for i in range(6)]
    fallbacks = [_fallback(f"Fallback {i}") for i in range(6)]

    # The editor starts from the queue on the admin's landing page and follows "next" after each decision.
    index = client.get(reverse("admin:index")).content.decode()
    url = re.search(r'href="(/admin/remix/remixnode/\d+/review/)"', index).group(1)
    decisions = 0
    while url and decisions < 60:
        node = RemixNode.objects.get(pk=int(url.split("/")[-3]))
        page = client.get(url)
        assert page.status_code == 200
        brief = node.briefs.order_by("-version").first()
        if node.status == NodeStatus.NEEDS_REVIEW:
            # Fill in what the AI could not, then have the brief written (the job runs as the worker would).
            response = client.post(
                url,
                {
                    "action": "fill_analysis",
                    "analysis-duration_s": "14.5",
                    "analysis-bpm": "120",
                    "analysis-commerce_category": "food",
                    "analysis-hook": "first sip",
                    "analysis-keyframes": "0 | cup\n7.5 | reveal",
                },
            )
            assert response.status_code == 302
            response = client.post(url, {"action": "generate_brief", "decision-reason": "밝은 분위기로"})
            brief_regenerate_run(node_id=node.pk, notes="밝은 분위기로")
        elif node.title.startswith("Bad"):
            if brief.version == 1:
                response = client.post(
                    url, {"action": "regenerate", "decision-reason": "훅이 약해요", "brief-revision": brief.revision}
                )
                brief_regenerate_run(node_id=node.pk, notes="훅이 약해요")
            else:
                response = client.post(
                    url, {"action": "reject", "decision-reason": "still off-brand", "brief-revision": brief.revision}
                )
        else:
            # A rule-based draft (the fallbacks') must have its placeholders filled in before it can be approved.
            filled = {"concept": f"{node.title} 콘셉트", "cultural_notes": "성수동 카페 소품으로"}
            response = client.post(url, brief_post(brief, "approve_with_edits", caption=f"{node.title} ✔", **filled))
        decisions += 1
        assert response.status_code == 302, response.content.decode()[:500]
        location = response["Location"]
        url = location if "/review/" in location else None
        if url is None:  # the queue looked empty: new versions may have arrived since
            index = client.get(reverse("admin:index")).content.decode()
            found = re.search(r'href="(/admin/remix/remixnode/\d+/review/)"', index)
            url = found.group(1) if found else None

    assert not RemixNode.objects.filter(status__in=[NodeStatus.IN_REVIEW, NodeStatus.NEEDS_REVIEW]).exists()
    assert {RemixNode.objects.get(pk=n.pk).status for n in good} == {NodeStatus.APPROVED}
    assert {RemixNode.objects.get(pk=n.pk).status for n in bad} == {NodeStatus.REJECTED}
    assert {RemixNode.objects.get(pk=n.pk).status for n in fallbacks} == {NodeStatus.APPROVED}
    actions = list(AuditLog.objects.filter(actor=editor).values_list("action", flat=True))
    assert actions.count("brief.approve") == 14 and actions.count("brief.reject") == 6
    assert actions.count("brief.request_regeneration") == 6 and actions.count("analysis.fill") == 6
