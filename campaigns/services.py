from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import audit_log_record, user_role_set
from campaigns.models import (
    Brand,
    BrandMembership,
    Campaign,
    CampaignLocation,
    CampaignStatus,
)
from campaigns.stats import campaign_stats_invalidate
from kmeme.changes import changes_apply
from kmeme.errors import ApplicationError
from remix.models import Layer, NodeStatus, RemixNode


@transaction.atomic
def brand_create(*, name: str, owner: User | None = None, actor: User | None = None) -> Brand:
    brand = Brand(name=name.strip())
    brand.full_clean()
    brand.save()
    audit_log_record(actor=actor or owner, action="brand.create", target=brand, details={"name": brand.name})
    if owner is not None:
        brand_member_add(brand=brand, user=owner, role=BrandMembership.Role.OWNER, actor=actor or owner)
    return brand


@transaction.atomic
def brand_update(*, brand: Brand, name: str, actor: User | None) -> Brand:
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    before = brand.name
    brand.name = name.strip()
    brand.full_clean()
    brand.save()
    if before != brand.name:
        audit_log_record(
            actor=actor,
            action="brand.update",
            target=brand,
            details={"before": {"name": before}, "after": {"name": brand.name}},
        )
    return brand


@transaction.atomic
def brand_member_add(*, brand: Brand, user: User, role: str, actor: User | None) -> BrandMembership:
    """Make `user` a member of `brand` (or change their role there). A creator becomes a brand account (role
    `brand`, through the audited role service); editors and admins keep theirs. Audited."""
    if user.role == Role.CREATOR:
        user_role_set(user=user, role=Role.BRAND, actor=actor)
        user.role = Role.BRAND
    membership = BrandMembership.objects.select_for_update().filter(brand=brand, user=user).first()
    before = membership.role if membership else None
    if membership is None:
        membership = BrandMembership(brand=brand, user=user)
    membership.role = BrandMembership.Role(role)
    membership.full_clean(validate_constraints=False)
    membership.save()
    if before != membership.role:
        audit_log_record(
            actor=actor,
            action="brand.member_set",
            target=brand,
            details={"user": user.pk, "before": {"role": before}, "after": {"role": membership.role}},
        )
    return membership


@transaction.atomic
def brand_member_remove(*, membership: BrandMembership, actor: User | None) -> None:
    audit_log_record(
        actor=actor,
        action="brand.member_remove",
        target=membership.brand,
        details={"user": membership.user_id, "before": {"role": membership.role}},
    )
    membership.delete()


@transaction.atomic
def campaign_create(
    *,
    brand: Brand,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    success_views: int = 10_000,
    success_grace_days: int = 7,
    master_nodes: list[RemixNode] | None = None,
    actor: User | None = None,
) -> Campaign:
    _require_masters(master_nodes or [])
    campaign = Campaign(
        brand=brand,
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        success_views=success_views,
        success_grace_days=success_grace_days,
    )
    campaign.full_clean()
    campaign.save()
    if master_nodes:
        campaign.master_nodes.set(master_nodes)
    audit_log_record(
        actor=actor,
        action="campaign.create",
        target=campaign,
        details={"brand": brand.name, "masters": [str(n.public_id) for n in master_nodes or []]},
    )
    return campaign


def campaign_location_add(
    *,
    campaign: Campaign,
    name: str,
    longitude: float,
    latitude: float,
    radius_m: int = 200,
    address: str = "",
    actor: User | None = None,
) -> CampaignLocation:
    return campaign_location_save(
        actor=actor,
        campaign=campaign,
        name=name,
        point=Point(longitude, latitude, srid=4326),
        radius_m=radius_m,
        address=address,
    )


# --- status changes and editors' corrections (audited) ------------------------------------------------------------

# The campaign workflow: which status may follow which.
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ENDED}),
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.ENDED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ENDED}),
    CampaignStatus.ENDED: frozenset(),
}
CAMPAIGN_EDITABLE_FIELDS = ("title", "description", "starts_at", "ends_at", "success_views", "success_grace_days")


def _require_masters(master_nodes: list[RemixNode]) -> None:
    if any(node.layer != Layer.MASTER for node in master_nodes):
        raise ApplicationError(_("Campaigns feature master nodes only."), code="campaign_needs_masters")
    unpublished = [str(node.public_id) for node in master_nodes if node.status != NodeStatus.PUBLISHED]
    if unpublished:
        raise ApplicationError(
            _("Campaigns feature published masters only."),
            code="campaign_needs_masters",
            details={"unpublished": unpublished},
        )


def _require_launchable(campaign: Campaign) -> None:
    """A campaign goes live with somewhere to shoot and something to remix."""
    missing = [
        what
        for what, present in (
            ("locations", campaign.locations.exists()),
            ("featured_masters", campaign.master_nodes.exists()),
        )
        if not present
    ]
    if missing:
        raise ApplicationError(
            _("A campaign needs %(join)s before it can be launched.")
            % {"join": " and ".join(m.replace("_", " ") for m in missing)},
            code="campaign_incomplete",
            status_code=409,
            details={"missing": missing},
        )


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, actor: User | None, master_nodes: list[RemixNode] | None = None, **changes: Any
) -> Campaign:
    """Change a campaign's text, window, success bar or featured masters. Audited with before → after."""
    unknown = set(changes) - set(CAMPAIGN_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields are not edited here: %(join)s.") % {"join": ", ".join(sorted(unknown))}, code="read_only"
        )
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    diff = changes_apply(campaign, changes)
    campaign.full_clean()
    campaign.save()
    if master_nodes is not None:
        _require_masters(master_nodes)
        before = sorted(str(n.public_id) for n in campaign.master_nodes.all())
        after = sorted(str(n.public_id) for n in master_nodes)
        if before != after:
            campaign.master_nodes.set(master_nodes)
            diff["master_nodes"] = {"before": before, "after": after}
    if diff:
        audit_log_record(actor=actor, action="campaign.update", target=campaign, details={"changes": _jsonable(diff)})
    return campaign


@transaction.atomic
def campaign_transition(*, campaign: Campaign, to: str, actor: User | None, reason: str = "") -> Campaign:
    """Launch, pause, resume or end a campaign along CAMPAIGN_TRANSITIONS, or refuse with `invalid_transition`."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = locked.status
    if to not in CAMPAIGN_TRANSITIONS.get(before, frozenset()):
        raise ApplicationError(
            _("A campaign cannot go from '%(before)s' to '%(to)s'.") % {"before": before, "to": to},
            code="invalid_transition",
            status_code=409,
            details={"from": before, "to": to, "allowed": sorted(CAMPAIGN_TRANSITIONS.get(before, ()))},
        )
    if to == CampaignStatus.ACTIVE:
        _require_launchable(locked)
    locked.status = to
    locked.save(update_fields=["status", "updated_at"])
    audit_log_record(
        actor=actor, action="campaign.transition", target=locked, details={"from": before, "to": to, "reason": reason}
    )
    campaign.status, campaign.updated_at = locked.status, locked.updated_at
    return campaign


@transaction.atomic
def campaign_location_save(
    *,
    actor: User | None,
    campaign: Campaign,
    name: str,
    point: Point,
    radius_m: int = 200,
    address: str = "",
    location: CampaignLocation | None = None,
) -> CampaignLocation:
    """Add a location to a campaign, or change one (`location`). Audited."""
    if location is None:
        location = CampaignLocation(campaign=campaign)
        before = None
    else:
        location = CampaignLocation.objects.select_for_update().get(pk=location.pk)
        before = _location_facts(location)
    location.campaign, location.name, location.address = campaign, name.strip(), address.strip()
    location.point, location.radius_m = point, radius_m
    location.full_clean()
    location.save()
    campaign_stats_invalidate(campaign_id=campaign.pk)
    after = _location_facts(location)
    if before != after:
        audit_log_record(
            actor=actor,
            action="campaign.location_add" if before is None else "campaign.location_update",
            target=campaign,
            details={"location": location.pk, "before": before, "after": after},
        )
    return location


@transaction.atomic
def campaign_location_delete(*, location: CampaignLocation, actor: User | None) -> None:
    """Remove a location no participation was verified at (409 `location_in_use` otherwise: the record of where
    creators shot stays). A running campaign keeps at least one location (409 `campaign_incomplete`). Audited."""
    location = CampaignLocation.objects.select_for_update().select_related("campaign").get(pk=location.pk)
    campaign = location.campaign
    if location.participations.exists():
        raise ApplicationError(
            _("Participations were checked against this location; it stays."), code="location_in_use", status_code=409
        )
    if campaign.status != CampaignStatus.DRAFT and campaign.locations.count() == 1:
        raise ApplicationError(
            _("A launched campaign keeps at least one location."), code="campaign_incomplete", status_code=409
        )
    facts = _location_facts(location)
    location.delete()
    campaign_stats_invalidate(campaign_id=campaign.pk)
    audit_log_record(
        actor=actor,
        action="campaign.location_delete",
        target=campaign,
        details={"location": facts, "before": facts, "after": None},
    )


def _location_facts(location: CampaignLocation) -> dict[str, Any]:
    return {
        "name": location.name,
        "address": location.address,
        "longitude": round(location.point.x, 7),
        "latitude": round(location.point.y, 7),
        "radius_m": location.radius_m,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value
