"""Writes in the user admin go through the account services: posted as an admin would, checked from outside."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.forms.models import model_to_dict
from django.urls import reverse

from accounts.models import AuditLog, Role, User
from accounts.services import EDITORS_GROUP, audit_log_record
from tests.accounts.factories import UserFactory
from tests.kmeme.admin_forms import admin_form, form_errors

pytestmark = pytest.mark.django_db


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _audit(action: str, user: User) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, target_type="accounts.user", target_id=str(user.pk)))


def _access(user: User) -> tuple[bool, bool, list[str]]:
    user = User.objects.get(pk=user.pk)
    return user.is_staff, user.is_superuser, sorted(user.groups.values_list("name", flat=True))


def test_a_new_role_is_audited_once_and_admin_access_follows_it(admin_session, site_admin):
    creator = UserFactory(role=Role.CREATOR, email="minji@example.com")
    assert _access(creator) == (False, False, [])
    data = admin_form(admin_session, _change_url(creator), "user")
    data["role"] = Role.EDITOR

    response = admin_session.post(_change_url(creator), data)

    assert response.status_code == 302, form_errors(response)
    assert User.objects.get(pk=creator.pk).role == Role.EDITOR
    assert _access(creator) == (True, False, [EDITORS_GROUP])
    [entry] = _audit("user.role_set", creator)
    assert entry.actor == site_admin
    assert entry.details == {"before": {"role": "creator"}, "after": {"role": "editor"}}
    assert not _audit("user.update", creator)  # nothing else changed


def test_a_demoted_editor_loses_staff_and_the_editors_group(admin_session, site_admin):
    editor = UserFactory(role=Role.EDITOR)
    data = admin_form(admin_session, _change_url(editor), "user")
    data["role"] = Role.CREATOR

    response = admin_session.post(_change_url(editor), data)

    assert response.status_code == 302, form_errors(response)
    assert _access(editor) == (False, False, [])
    [entry] = _audit("user.role_set", editor)
    assert (entry.actor, entry.details["after"]) == (site_admin, {"role": "creator"})


def test_posting_superuser_staff_groups_or_permissions_directly_changes_nothing(admin_session):
    creator = UserFactory(role=Role.CREATOR)
    data = admin_form(admin_session, _change_url(creator), "user")
    assert not {"is_superuser", "is_staff", "groups", "user_permissions"} & set(data)  # not offered
    data.update(
        is_superuser="on",
        is_staff="on",
        groups=[str(Group.objects.get(name=EDITORS_GROUP).pk)],
        user_permissions=["1", "2"],
        display_name="Minji",
    )

    response = admin_session.post(_change_url(creator), data)

    assert response.status_code == 302, form_errors(response)
    fresh = User.objects.get(pk=creator.pk)
    assert (fresh.role, fresh.display_name) == (Role.CREATOR, "Minji")
    assert _access(creator) == (False, False, [])
    assert not fresh.user_permissions.exists()
    [entry] = _audit("user.update", creator)
    assert entry.details == {"changes": {"display_name": "PERSONAL"}}  # what changed, kept; the name, forgettable
    assert entry.personal_details == {"changes": {"display_name": {"before": "", "after": "Minji"}}}
    assert not _audit("user.role_set", creator)


def test_a_user_added_in_the_admin_is_created_by_the_service_and_audited(admin_session, site_admin):
    url = reverse("admin:accounts_user_add")
    data = admin_form(admin_session, url, "user")
    data.update(
        email="jiwoo@example.com", role=Role.EDITOR, password1="latte art 4 ever!", password2="latte art 4 ever!"
    )

    response = admin_session.post(url, data)

    assert response.status_code == 302, form_errors(response)
    user = User.objects.get(email="jiwoo@example.com")
    assert user.role == Role.EDITOR and user.check_password("latte art 4 ever!")
    assert _access(user) == (True, False, [EDITORS_GROUP])
    [entry] = _audit("user.created", user)
    assert (entry.actor, entry.details) == (site_admin, {"via": "admin"})


def test_mismatched_passwords_create_no_user(admin_session):
    url = reverse("admin:accounts_user_add")
    data = admin_form(admin_session, url, "user")
    data.update(email="jiwoo@example.com", role=Role.CREATOR, password1="latte art 4 ever!", password2="different!")

    response = admin_session.post(url, data)

    assert response.status_code == 200
    assert "The two password fields didn’t match." in form_errors(response)
    assert not User.objects.filter(email="jiwoo@example.com").exists()
    assert not AuditLog.objects.filter(action="user.created").exists()


def test_editors_cannot_open_the_user_admin(editor_session):
    someone = UserFactory(role=Role.CREATOR)
    assert editor_session.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert editor_session.get(_change_url(someone)).status_code == 403
    assert editor_session.post(_change_url(someone), {"role": Role.ADMIN, "email": someone.email}).status_code == 403
    assert editor_session.get(reverse("admin:accounts_user_add")).status_code == 403
    assert User.objects.get(pk=someone.pk).role == Role.CREATOR


def test_nobody_deletes_a_user(admin_session):
    someone = UserFactory(role=Role.CREATOR)
    response = admin_session.post(reverse("admin:accounts_user_delete", args=[someone.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=someone.pk).exists()


def test_the_audit_log_is_read_only_for_superusers(admin_session, site_admin):
    entry = audit_log_record(actor=site_admin, action="node.update", details={"changes": {"title": {}}})
    before = model_to_dict(entry)
    change = reverse("admin:accounts_auditlog_change", args=[entry.pk])

    assert admin_session.get(change).status_code == 200  # shown
    assert admin_session.post(change, {"action": "tampered", "actor": "", "details": "{}"}).status_code == 403
    assert admin_session.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert admin_session.post(reverse("admin:accounts_auditlog_add"), {"action": "forged"}).status_code == 403
    delete = reverse("admin:accounts_auditlog_delete", args=[entry.pk])
    assert admin_session.post(delete, {"post": "yes"}).status_code == 403
    assert model_to_dict(AuditLog.objects.get(pk=entry.pk)) == before
    assert not AuditLog.objects.filter(action__in=["tampered", "forged"]).exists()


def test_a_password_set_in_the_admin_is_hashed_and_audited(admin_session, site_admin):
    user = UserFactory(role=Role.CREATOR)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin_session.post(
        url, {"password1": "a-Long-new-passw0rd", "password2": "a-Long-new-passw0rd", "usable_password": "true"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.check_password("a-Long-new-passw0rd")
    entry = AuditLog.objects.get(action="user.password_set", target_id=str(user.pk))
    assert entry.actor == site_admin and "a-Long" not in str(entry.details)
    # A refused form (mismatch) changes nothing and audits nothing.
    admin_session.post(url, {"password1": "one-Long-passw0rd", "password2": "two-Long-passw0rd"})
    user.refresh_from_db()
    assert user.check_password("a-Long-new-passw0rd")
    assert AuditLog.objects.filter(action="user.password_set").count() == 1
