from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import AuditLog, Consent, User
from accounts.services import user_role_sync


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["email", "display_name", "firebase_uid"]
    readonly_fields = ["last_login", "date_joined", "anonymized_at", "is_staff", "is_superuser"]  # follow the role
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "role", "firebase_uid"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "anonymized_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Admin access always follows the role (staff, superuser, the Editors group).
        user_role_sync(user=obj)


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


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the database refuses changes anyway."""

    list_display = ["created_at", "actor", "action", "target_type", "target_id", "target_repr", "ip"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor"]
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
