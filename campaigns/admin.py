"""Brands, campaigns, locations and participations in the admin. Every write calls a campaigns service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.gis.admin.options import GeoModelAdminMixin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy, ngettext_lazy

from campaigns.maps import positions_map_svg
from campaigns.models import Brand, BrandMembership, Campaign, CampaignLocation, CampaignStatus, Participation
from campaigns.participations import participation_certify, participation_reject, participation_reverify
from campaigns.services import (
    CAMPAIGN_EDITABLE_FIELDS,
    brand_create,
    brand_member_add,
    brand_member_remove,
    brand_update,
    campaign_create,
    campaign_location_save,
    campaign_transition,
    campaign_update,
)
from campaigns.stats import campaign_stats
from kmeme.admin_services import ReadOnlyAdmin, ServiceAdmin, ServiceModelForm, formset_saved_nothing
from kmeme.errors import ApplicationError


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=gettext_lazy("Reason"))


# What each bulk action reports, as whole sentences so that each language words them its own way.
OUTCOMES = {
    "launched": (ngettext_lazy("Launched %(n)d item.", "Launched %(n)d items.", "n"), gettext_lazy("Not launched")),
    "paused": (ngettext_lazy("Paused %(n)d item.", "Paused %(n)d items.", "n"), gettext_lazy("Not paused")),
    "ended": (ngettext_lazy("Ended %(n)d item.", "Ended %(n)d items.", "n"), gettext_lazy("Not ended")),
    "checked": (ngettext_lazy("Checked %(n)d item.", "Checked %(n)d items.", "n"), gettext_lazy("Not checked")),
    "certified": (ngettext_lazy("Certified %(n)d item.", "Certified %(n)d items.", "n"), gettext_lazy("Not certified")),
    "rejected": (ngettext_lazy("Rejected %(n)d item.", "Rejected %(n)d items.", "n"), gettext_lazy("Not rejected")),
}


def _apply_each(admin_obj: admin.ModelAdmin, request: HttpRequest, queryset, outcome: str, decide: Callable) -> None:
    """Call a service for each selected row; report what was done and, row by row, what was refused."""
    done_message, refused = OUTCOMES[outcome]
    done = 0
    for obj in queryset:
        try:
            decide(obj)
            done += 1
        except ApplicationError as exc:
            admin_obj.message_user(
                request,
                f"{refused}: {obj}: {exc.message}",
                messages.ERROR,
            )
    if done:
        admin_obj.message_user(request, done_message % {"n": done})


# --- brands -----------------------------------------------------------------------------------------------------------


class BrandForm(ServiceModelForm):
    class Meta:
        model = Brand
        fields = ["name"]

    def save_service(self, data: dict[str, Any]) -> Brand:
        if self.instance.pk:
            return brand_update(brand=self.instance, name=data["name"], actor=self.request.user)
        return brand_create(name=data["name"], actor=self.request.user)


class BrandMembershipInline(admin.TabularInline):
    """Who belongs to the brand (changed on the Brand memberships page, through the membership services)."""

    model = BrandMembership
    extra = 0
    can_delete = False
    fields = readonly_fields = ["user", "role", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Brand)
class BrandAdmin(ServiceAdmin):
    form = BrandForm
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [BrandMembershipInline]


class BrandMembershipForm(ServiceModelForm):
    class Meta:
        model = BrandMembership
        fields = ["brand", "user", "role"]

    def save_service(self, data: dict[str, Any]) -> BrandMembership:
        brand = data.get("brand") or self.instance.brand
        user = data.get("user") or self.instance.user
        return brand_member_add(brand=brand, user=user, role=data["role"], actor=self.request.user)


@admin.register(BrandMembership)
class BrandMembershipAdmin(ServiceAdmin):
    form = BrandMembershipForm
    list_display = ["user", "brand", "role", "created_at"]
    list_filter = ["role", "brand"]
    list_select_related = ["user", "brand"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["brand", "user"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request: HttpRequest, obj: BrandMembership) -> None:
        brand_member_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for membership in queryset:
            brand_member_remove(membership=membership, actor=request.user)


# --- campaigns and their locations ---------------------------------------------------------------------------------


class CampaignForm(ServiceModelForm):
    class Meta:
        model = Campaign
        fields = ["brand", *CAMPAIGN_EDITABLE_FIELDS, "master_nodes"]

    def save_service(self, data: dict[str, Any]) -> Campaign:
        masters = list(data.get("master_nodes") or [])
        if self.instance.pk:
            # Only what the editor changed: the page shows times to the second, so an untouched window posted
            # back would overwrite the stored one (and be audited as a change).
            changes = {f: data[f] for f in CAMPAIGN_EDITABLE_FIELDS if f in self.changed_data}
            return campaign_update(campaign=self.instance, actor=self.request.user, master_nodes=masters, **changes)
        fields = {f: data[f] for f in CAMPAIGN_EDITABLE_FIELDS if f in data}
        return campaign_create(brand=data["brand"], master_nodes=masters, actor=self.request.user, **fields)


class CampaignLocationInline(GeoModelAdminMixin, admin.StackedInline):
    """Locations placed on a map inside their campaign; saved by CampaignAdmin.save_related through the service."""

    model = CampaignLocation
    extra = 0
    can_delete = False  # a location participations were verified against stays


@admin.register(Campaign)
class CampaignAdmin(ServiceAdmin):
    form = CampaignForm
    list_display = ["title", "brand", "status", "starts_at", "ends_at", "success_views"]
    list_filter = ["status", "brand"]
    list_select_related = ["brand"]
    search_fields = ["title", "brand__name"]
    filter_horizontal = ["master_nodes"]
    readonly_fields = ["status"]
    inlines = [CampaignLocationInline]
    actions = ["launch_selected", "pause_selected", "end_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["brand", "status", "numbers", "where_they_shot"] if obj is not None else ["status"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f for f in super().get_fields(request, obj) if f not in ("numbers", "where_they_shot")]
        return [*fields, "numbers", "where_they_shot"] if obj is not None else fields

    @admin.display(description=gettext_lazy("Numbers"))
    def numbers(self, obj: Campaign) -> str:
        """The same figures the brand reads from GET /api/v1/brand/campaigns/{id}/stats."""
        return render_to_string("admin/campaigns/stats.html", {"stats": campaign_stats(campaign=obj)})

    @admin.display(description=gettext_lazy("Where they shot"))
    def where_they_shot(self, obj: Campaign) -> str:
        """The locations (circles of their radius) and the positions participants claimed, drawn to scale."""
        return positions_map_svg(obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The location forms were validated with the campaign's; each added or changed one goes to the service."""
        for formset in formsets:
            formset_saved_nothing(formset)
            for location_form in formset.forms:
                if not location_form.has_changed():
                    continue
                data = location_form.cleaned_data
                existing = location_form.instance if location_form.instance.pk else None
                location = campaign_location_save(
                    actor=request.user,
                    campaign=form.instance,
                    name=data["name"],
                    address=data.get("address", ""),
                    point=data["point"],
                    radius_m=data["radius_m"],
                    location=existing,
                )
                if existing is None:  # for the admin's History, as formset.save() would record them
                    formset.new_objects.append(location)
                else:
                    formset.changed_objects.append((location, location_form.changed_data))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "master_nodes":  # featured nodes are masters; the service refuses anything else too
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(layer="master")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _transition(self, request: HttpRequest, queryset, to: str, outcome: str) -> None:
        _apply_each(
            self, request, queryset, outcome, lambda c: campaign_transition(campaign=c, to=to, actor=request.user)
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Launch the selected campaigns"))
    def launch_selected(self, request: HttpRequest, queryset) -> None:
        self._transition(request, queryset, CampaignStatus.ACTIVE, "launched")

    @admin.action(permissions=["change"], description=gettext_lazy("Pause the selected campaigns"))
    def pause_selected(self, request: HttpRequest, queryset) -> None:
        self._transition(request, queryset, CampaignStatus.PAUSED, "paused")

    @admin.action(permissions=["change"], description=gettext_lazy("End the selected campaigns"))
    def end_selected(self, request: HttpRequest, queryset) -> None:
        self._transition(request, queryset, CampaignStatus.ENDED, "ended")


class CampaignLocationForm(ServiceModelForm):
    class Meta:
        model = CampaignLocation
        fields = ["campaign", "name", "address", "point", "radius_m"]

    def save_service(self, data: dict[str, Any]) -> CampaignLocation:
        return campaign_location_save(
            actor=self.request.user,
            campaign=data.get("campaign") or self.instance.campaign,
            name=data["name"],
            address=data.get("address", ""),
            point=data["point"],
            radius_m=data["radius_m"],
            location=self.instance if self.instance.pk else None,
        )


@admin.register(CampaignLocation)
class CampaignLocationAdmin(GeoModelAdminMixin, ServiceAdmin):
    form = CampaignLocationForm
    list_display = ["name", "campaign", "radius_m", "address"]
    list_select_related = ["campaign"]
    search_fields = ["name", "address"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["campaign"] if obj is not None else []


# --- participations ---------------------------------------------------------------------------------------------------


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin):
    """Creators submit participations; editors decide on them only through the audited actions below."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "creator",
        "campaign",
        "status",
        "verification_result",
        "distance_m",
        "submitted_at",
        "k_success_views",
        "k_success_by",
    ]
    list_filter = ["status", "verification_result"]
    list_select_related = ["creator", "campaign", "campaign__brand"]
    show_full_result_count = False
    actions = ["reverify_selected", "certify_selected", "reject_selected"]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.change_participation")

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        permissions=["review"], description=gettext_lazy("Check the selected participations' positions again")
    )
    def reverify_selected(self, request: HttpRequest, queryset) -> None:
        _apply_each(
            self,
            request,
            queryset.select_related("campaign"),
            "checked",
            lambda p: participation_reverify(participation=p, actor=request.user),
        )

    @admin.action(
        permissions=["review"], description=gettext_lazy("Certify the selected as K-Success by hand (with a reason)…")
    )
    def certify_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            action="certify_selected",
            outcome="certified",
            title=gettext_lazy("Certify K-Success by hand"),
            decide=lambda p, reason: participation_certify(participation=p, actor=request.user, reason=reason),
        )

    @admin.action(
        permissions=["review"], description=gettext_lazy("Reject the selected participations (one reason for all)…")
    )
    def reject_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            action="reject_selected",
            outcome="rejected",
            title=gettext_lazy("Reject"),
            decide=lambda p, reason: participation_reject(participation=p, actor=request.user, reason=reason),
        )

    def _with_reason(self, request: HttpRequest, queryset, *, action: str, outcome: str, title: str, decide) -> Any:
        """Ask for one reason for all the selected, then decide each through its service."""
        form = ReasonForm(request.POST if "apply" in request.POST else None, prefix="decision")
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            _apply_each(self, request, queryset, outcome, lambda p: decide(p, reason))
            return None
        return TemplateResponse(
            request,
            "admin/kmeme_bulk_reason.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"{title}: {queryset.count()} participation(s)",
                "objects": queryset,
                "form": form,
                "action": action,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
