"""The admin writes only through services (kmeme/admin_services.py): the ledgers nobody writes in the admin.

The writable admins are tested where their models live: tests/remix/, tests/campaigns/ and tests/accounts/
test_admin_writes.py, each posting the admin's own forms and actions (tests/kmeme/admin_forms.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from genealogy.models import NodePerformanceSnapshot
from genealogy.services import snapshot_record
from kmeme.admin_services import ReadOnlyAdmin, ServiceAdmin
from kmeme.ai.budget import budget_reserve, budget_settle
from kmeme.ai.models import AICall, AICallStatus
from tests.remix.factories import published_master

pytestmark = pytest.mark.django_db


def _snapshot() -> NodePerformanceSnapshot:
    return snapshot_record(
        node=published_master(), views=1200, likes=80, shares=9, captured_at=timezone.now() - timedelta(hours=1)
    )


def _ai_call(settings) -> AICall:
    call = budget_reserve(
        provider="anthropic",
        model=settings.CLAUDE_MODEL,
        purpose="brief",
        node_id=None,
        max_input_tokens=10_000,
        max_output_tokens=4096,
    )
    return budget_settle(call=call, input_tokens=1000, output_tokens=500, latency_ms=12, status=AICallStatus.OK)


@pytest.mark.parametrize(
    ("make", "tampered"),
    [
        (lambda settings: _snapshot(), {"views": "99999999", "likes": "0", "shares": "0"}),
        (_ai_call, {"cost_usd": "0", "status": "error", "input_tokens": "0"}),
    ],
    ids=["performance-snapshot", "ai-call"],
)
def test_a_ledger_is_shown_but_even_a_superuser_cannot_add_change_or_delete_a_row(
    admin_session, settings, make, tampered
):
    row = make(settings)
    model = type(row)
    before = model_to_dict(row)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"

    assert admin_session.get(reverse(f"{name}_changelist")).status_code == 200
    page = admin_session.get(reverse(f"{name}_change", args=[row.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert admin_session.get(reverse(f"{name}_add")).status_code == 403
    assert admin_session.post(reverse(f"{name}_add"), {**tampered, "node": str(row.node_id or "")}).status_code == 403
    assert admin_session.post(reverse(f"{name}_change", args=[row.pk]), tampered).status_code == 403
    assert admin_session.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    changelist = admin_session.post(
        reverse(f"{name}_changelist"), {"action": "delete_selected", "index": "0", "_selected_action": [row.pk]}
    )
    assert changelist.status_code in (200, 302)  # no such action: Django answers "No action selected"

    assert model.objects.count() == 1
    assert model_to_dict(model.objects.get(pk=row.pk)) == before


def test_no_service_admin_offers_the_bulk_delete_that_would_bypass_its_services(rf, site_admin):
    request = rf.get("/admin/")
    request.user = site_admin
    offering = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, (ServiceAdmin, ReadOnlyAdmin))
        and "delete_selected" in model_admin.get_actions(request)
    ]
    assert offering == []
