import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import AuditLog, Role, User
from accounts.selectors import audit_log_for_target, consent_current
from accounts.services import audit_log_record, consent_record, user_create
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_users_log_in_by_email_case_insensitively(client):
    user_create(email="Mina@Example.com", password="a long enough password", role=Role.EDITOR)
    response = client.post("/admin/login/", {"username": "mina@example.com", "password": "a long enough password"})
    assert response.status_code == 302, response.content
    assert client.get("/admin/").status_code == 200
    assert User.objects.get_by_natural_key("MINA@example.COM").email == "mina@example.com"


def test_the_same_email_in_another_case_is_refused():
    user_create(email="mina@example.com")
    with pytest.raises(ValidationError) as excinfo:
        user_create(email="MINA@example.com")
    assert "email" in excinfo.value.message_dict


def test_the_database_refuses_a_case_variant_email_even_past_validation():
    UserFactory(email="joon@example.com")
    with pytest.raises(IntegrityError, match="user_email_ci_unique"), transaction.atomic():
        User.objects.bulk_create([User(email="JOON@example.com")])


def test_firebase_uid_is_unique_but_optional():
    UserFactory(firebase_uid="uid-1")
    UserFactory(firebase_uid=None)
    UserFactory(firebase_uid=None)  # many users without Firebase are fine
    with pytest.raises(ValidationError) as excinfo:
        UserFactory(firebase_uid="uid-1")
    assert "firebase_uid" in excinfo.value.message_dict


def test_roles_decide_admin_access():
    assert UserFactory(role=Role.EDITOR).is_staff
    admin = UserFactory(role=Role.ADMIN)
    assert admin.is_staff and admin.is_superuser
    assert not UserFactory(role=Role.CREATOR).is_staff
    assert not UserFactory(role=Role.BRAND).is_staff


def test_consents_are_history_not_overwrites():
    user = UserFactory()
    consent_record(user=user, kind="marketing", granted=True, terms_version="2026-01")
    consent_record(user=user, kind="marketing", granted=False, terms_version="2026-03")
    assert user.consents.filter(kind="marketing").count() == 2
    latest = consent_current(user=user, kind="marketing")
    assert latest.granted is False and latest.terms_version == "2026-03"
    assert consent_current(user=user, kind="location") is None


def test_unknown_consent_kind_is_refused():
    with pytest.raises(ValueError):
        consent_record(user=UserFactory(), kind="telepathy", granted=True, terms_version="1")


def test_audit_log_is_append_only_in_the_database():
    actor = UserFactory(role=Role.EDITOR)
    entry = audit_log_record(actor=actor, action="brief.approve", target=actor, details={"before": "a", "after": "b"})
    assert list(audit_log_for_target(target_type="accounts.user", target_id=str(actor.pk))) == [entry]
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(action="tampered")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditlog WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.action == "brief.approve"


def test_a_user_with_audit_history_cannot_be_deleted():
    actor = UserFactory()
    audit_log_record(actor=actor, action="login")
    with pytest.raises(Exception, match="protected"):
        actor.delete()


def test_editors_get_exactly_the_editor_permissions_through_their_group():
    from django.contrib.auth.models import Group

    from accounts.services import EDITOR_PERMISSIONS

    editor = UserFactory(role=Role.EDITOR)
    group = Group.objects.get(name="Editors")
    assert list(editor.groups.all()) == [group]
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert granted == {f"{app}.{code}" for app, codes in EDITOR_PERMISSIONS.items() for code in codes}
    assert editor.has_perm("remix.review_remixnode") and not editor.has_perm("accounts.change_user")
    assert not editor.has_perm("auth.change_group")
    promoted = UserFactory(role=Role.CREATOR)
    promoted.role = Role.ADMIN
    from accounts.services import user_role_sync

    user_role_sync(user=promoted)
    assert promoted.is_superuser and not promoted.groups.exists()
