"""What editors and operators see of the pipeline in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from kmeme.ai.circuit import circuit_record_failure
from remix.pipeline import pipeline_run
from remix.services import node_submit
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    return client


def test_a_fallback_node_is_in_the_manual_review_queue_with_its_measurements(
    editor_client, video_url, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    node, _ = node_submit(user=UserFactory(), video_url=video_url, title="Colour flip")
    pipeline_run(node_id=node.pk)

    queue = editor_client.get(reverse("admin:remix_remixnode_changelist"), {"status__exact": "needs_review"})
    assert "Colour flip" in queue.content.decode()

    page = editor_client.get(reverse("admin:remix_remixnode_change", args=[node.pk])).content.decode()
    assert "Measured by the platform" in page
    assert "128" in page and "BPM" in page  # the measured tempo
    assert "2.00 s" in page and "4.50 s" in page  # the measured scene cuts
    assert "GEMINI_API_KEY" in page  # why it is waiting for a person


def test_a_failed_job_is_findable_with_its_error(editor_client):
    node, _ = node_submit(user=UserFactory(), video_url="https://cdn.example.com/a.mp4", title="Broken run")
    node.pipeline_error = "RuntimeError: disk full"
    node.save()
    listing = editor_client.get(reverse("admin:remix_remixnode_changelist"), {"job": "error"}).content.decode()
    assert "Broken run" in listing
    page = editor_client.get(reverse("admin:remix_remixnode_change", args=[node.pk])).content.decode()
    assert "disk full" in page


def test_the_ledger_shows_the_months_spend_and_open_circuits(editor_client, settings):
    settings.AI_CIRCUIT_FAILURES = 1
    circuit_record_failure(provider="gemini")
    page = editor_client.get(reverse("admin:ai_aicall_changelist")).content.decode()
    assert f"of the ${settings.LLM_MONTHLY_CAP:.2f} cap" in page
    assert "Gemini circuit: open until" in page and "Anthropic circuit: closed" in page
