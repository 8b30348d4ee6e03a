from typing import Any

import django_otp.plugins.otp_totp.admin  # noqa: F401 - registers django-otp's device admin, replaced below
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import sign_in_unlock
from accounts.models import AuditLog, AuditPersonal, Consent, Upload, User
from accounts.services import USER_EDITABLE_FIELDS, audit_log_record, user_create, user_update
from accounts.two_factor import otp_device_delete, otp_device_require
from kmeme.admin_services import ReadOnlyAdmin, ServiceAdmin, ServiceModelForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "display_name", "firebase_uid"]
    # Admin access follows the role (staff, superuser, the Editors group): set by the role service, never by hand.
    readonly_fields = [
        "last_login",
        "date_joined",
        "anonymized_at",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (gettext_lazy("Profile"), {"fields": ["display_name", "first_name", "last_name", "role", "firebase_uid"]}),
        (
            gettext_lazy("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (gettext_lazy("Dates"), {"fields": ["last_login", "date_joined", "anonymized_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]
    actions = ["unlock_sign_in"]

    @admin.action(description=gettext_lazy("Unlock admin sign-in (clear failed attempts)"), permissions=["change"])
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        unlocked = [user for user in queryset if sign_in_unlock(email=user.email, actor=request.user)]
        self.message_user(
            request,
            ngettext("%d account unlocked.", "%d accounts unlocked.", len(unlocked)) % len(unlocked)
            if unlocked
            else _("None of these accounts was locked."),
            messages.SUCCESS if unlocked else messages.INFO,
        )

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        """Through the account services: a new user is created by user_create, a change (a role change above
        all) by user_update, each audited with who did it."""
        data = form.cleaned_data
        if not change:
            user = user_create(email=data["email"], password=data.get("password1"), role=data["role"])
            audit_log_record(actor=request.user, action="user.created", target=user, details={"via": "admin"})
            obj.pk = user.pk
            obj.refresh_from_db()
            return
        changes = {f: data[f] for f in form.changed_data if f in USER_EDITABLE_FIELDS}
        role = data["role"] if "role" in form.changed_data else None
        obj.refresh_from_db()  # drop the form's unsaved copy: the service writes, from the row
        user_update(user=obj, actor=request.user, role=role, **changes)
        obj.refresh_from_db()

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Django's own password form (it hashes, checks strength, and can make the password unusable), with the
        change audited in the same transaction."""
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                audit_log_record(actor=request.user, action="user.password_set", target=self.get_object(request, id))
        return response

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Groups and permissions follow the role (read-only here); nothing else is related."""

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # accounts are deactivated (or anonymized), never deleted: the audit log names them


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Consents are evidence: shown, never edited."""

    list_display = ["user", "kind", "granted", "terms_version", "created_at"]
    list_filter = ["kind", "granted", "terms_version"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False


@admin.register(AuditPersonal)
class AuditPersonalAdmin(admin.ModelAdmin):
    """The personal half of audit records (emails, names, uids, IPs): admins only, read-only; anonymization deletes
    a forgotten person's rows, nothing else does."""

    list_display = ["entry", "subject", "ip"]
    list_select_related = ["entry", "subject"]
    search_fields = ["entry__id", "subject__id"]
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj: AuditPersonal | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditPersonal | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditPersonal | None = None) -> bool:
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Read-only: uploads are started and completed by their owners through the API (accounts.uploads)."""

    list_display = ["public_id", "owner", "status", "content_type", "size", "created_at", "uploaded_at"]
    list_filter = ["status", "content_type"]
    list_select_related = ["owner"]
    search_fields = ["=public_id", "owner__email"]
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the database refuses changes anyway."""

    list_display = ["created_at", "actor", "action", "target_type", "target_id", "target_repr", "ip"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor", "personal"]
    readonly_fields = ["ip", "personal_details"]
    search_fields = ["action", "target_id", "target_repr", "actor__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyAdmin):
    """Failed admin sign-ins (django-axes) within the lockout window: who is locked, and the audited way to unlock."""

    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = ["username", "ip_address", "failures_since_start", "attempt_time", "user_agent", "path_info"]
    actions = ["unlock"]

    @admin.action(
        description=gettext_lazy("Unlock: clear the failed sign-ins of these accounts and addresses"),
        permissions=["unlock"],
    )
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        cleared = 0
        for username, ip in set(queryset.values_list("username", "ip_address")):
            cleared += sign_in_unlock(email=username, ip=ip, actor=request.user)
        self.message_user(
            request, ngettext("%d attempt record cleared.", "%d attempt records cleared.", cleared) % cleared
        )

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")


admin.site.unregister(TOTPDevice)


class TOTPDeviceRequireForm(ServiceModelForm):
    class Meta:
        model = TOTPDevice
        fields = ["user"]

    def save_service(self, data: dict[str, Any]) -> TOTPDevice:
        return otp_device_require(user=data["user"], actor=self.request.user)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ServiceAdmin):
    """Second-factor devices. Adding one for a staff account requires a second factor of it: its owner scans the
    device's QR code on their next admin visit (never shown here). Deleting one replaces a lost phone. Audited."""

    form = TOTPDeviceRequireForm
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["name", "confirmed", "created_at", "last_used_at"]

    def get_fields(self, request: HttpRequest, obj: TOTPDevice | None = None) -> list[str]:
        return ["user"] if obj is None else ["user", "name", "confirmed", "created_at", "last_used_at"]

    def has_change_permission(self, request: HttpRequest, obj: TOTPDevice | None = None) -> bool:
        return False  # a device's key and state are its owner's; it is added or deleted, never edited

    def has_delete_permission(self, request: HttpRequest, obj: TOTPDevice | None = None) -> bool:
        return request.user.has_perm("otp_totp.delete_totpdevice")

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        otp_device_delete(device=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        for device in queryset.select_related("user"):
            otp_device_delete(device=device, actor=request.user)
