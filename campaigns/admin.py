from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.contrib.gis.admin.options import GeoModelAdminMixin
from django.db import models

from campaigns.models import Brand, BrandMembership, Campaign, CampaignLocation, Participation


class BrandMembershipInline(admin.TabularInline):
    model = BrandMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(BrandMembership)
class BrandMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "brand", "role", "created_at"]
    list_filter = ["role", "brand"]
    list_select_related = ["user", "brand"]
    raw_id_fields = ["user"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [BrandMembershipInline]


class CampaignLocationInline(GeoModelAdminMixin, admin.StackedInline):
    """Locations edited on a map inside their campaign."""

    model = CampaignLocation
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "brand", "status", "starts_at", "ends_at", "success_views"]
    list_filter = ["status", "brand"]
    list_select_related = ["brand"]
    search_fields = ["title", "brand__name"]
    filter_horizontal = ["master_nodes"]
    inlines = [CampaignLocationInline]


@admin.register(CampaignLocation)
class CampaignLocationAdmin(GISModelAdmin):
    list_display = ["name", "campaign", "radius_m", "address"]
    list_select_related = ["campaign"]
    search_fields = ["name", "address"]


@admin.register(Participation)
class ParticipationAdmin(GISModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["creator", "campaign", "status", "verification_result", "distance_m", "submitted_at"]
    list_filter = ["status", "verification_result"]
    list_select_related = ["creator", "campaign", "campaign__brand"]
    raw_id_fields = ["creator", "fork_node", "location"]
    readonly_fields = ["verification_result", "distance_m", "location", "verified_at", "submitted_at"]
    show_full_result_count = False
