"""A campaign's numbers, for its brand's members (API) and for editors (admin): the same function for both.

- participations by status; `submitted`: those submitted at least once; `verified`: verified or K-Success;
- `verified_rate` = verified ÷ submitted; `conversion_rate` = K-Success ÷ verified (the headline metric: design target
  above 10 %, alert under 5 %); None when the divisor is 0;
- per location (every location of the campaign, zeros included), and a daily series from the campaign's start to
  today (or its end): submitted (by last submission), verified (by last check), K-Success (by certification), in
  the project's time zone.

Six queries whatever the number of participations (the totals, the locations, their counts, a grouped count per
daily series), cached in Redis until a participation of the campaign changes (`campaign_stats_invalidate`, called
by every service that writes one), the campaign is edited, or the day turns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Participation, ParticipationStatus

VERIFIED_STATUSES = (ParticipationStatus.VERIFIED, ParticipationStatus.K_SUCCESS)
CACHE_TTL_S = 600


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _version_key(campaign_id: int) -> str:
    return f"campaign-stats-version:{campaign_id}"


def campaign_stats_invalidate(*, campaign_id: int) -> None:
    """A participation of the campaign changed: the cached numbers are stale. Called by every service that writes
    a participation (campaigns.participations, campaigns.ksuccess)."""

    def bump() -> None:
        try:
            cache.incr(_version_key(campaign_id))
        except ValueError:  # no version yet: set one (what was cached under none is stale now)
            cache.set(_version_key(campaign_id), 1, None)

    # Now, so this transaction reads fresh numbers; and again after commit, in case another request cached the old
    # state in between.
    bump()
    transaction.on_commit(bump)


def campaign_stats(*, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    """The numbers, from Redis when nothing changed since they were computed (the key carries the campaign's
    participation version and today's date), else computed (`campaign_stats_compute`) and kept for 10 minutes."""
    if at is not None:
        return campaign_stats_compute(campaign=campaign, at=at)
    version = cache.get(_version_key(campaign.pk), 0)
    today = timezone.localdate()
    key = f"campaign-stats:{campaign.pk}:{version}:{today.isoformat()}:{campaign.updated_at.timestamp()}"
    stats = cache.get(key)
    if stats is None:
        stats = campaign_stats_compute(campaign=campaign)
        cache.set(key, stats, CACHE_TTL_S)
    return stats


def campaign_stats_compute(*, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    now = at or timezone.now()
    rows = Participation.objects.filter(campaign=campaign)
    totals = rows.aggregate(
        ever_submitted=Count("id", filter=Q(submissions__gt=0)),
        **{status: Count("id", filter=Q(status=status)) for status in ParticipationStatus.values},
    )
    submitted = totals.pop("ever_submitted")
    by_status = {status: totals[status] for status in ParticipationStatus.values}
    verified = by_status[ParticipationStatus.VERIFIED] + by_status[ParticipationStatus.K_SUCCESS]
    k_success = by_status[ParticipationStatus.K_SUCCESS]

    per_location = {
        loc.pk: {"id": loc.pk, "name": loc.name, "verified": 0, "k_success": 0, "conversion_rate": None}
        for loc in campaign.locations.order_by("name", "id")
    }
    counts = (
        rows.filter(status__in=VERIFIED_STATUSES, location__isnull=False)
        .order_by()
        .values("location_id")
        .annotate(
            verified=Count("id"),
            k_success=Count("id", filter=Q(status=ParticipationStatus.K_SUCCESS)),
        )
    )
    for row in counts:
        entry = per_location.get(row["location_id"])
        if entry is not None:
            entry.update(
                verified=row["verified"],
                k_success=row["k_success"],
                conversion_rate=_rate(row["k_success"], row["verified"]),
            )

    tz = timezone.get_current_timezone()
    first = timezone.localtime(campaign.starts_at, tz).date()
    last = min(timezone.localtime(now, tz).date(), timezone.localtime(campaign.ends_at, tz).date())
    days: dict[date, dict[str, Any]] = {}
    day = first
    while day <= last and len(days) < 366:
        days[day] = {"date": day.isoformat(), "submitted": 0, "verified": 0, "k_success": 0}
        day += timedelta(days=1)
    for field, key, condition in (
        ("submitted_at", "submitted", Q(submitted_at__isnull=False)),
        ("verified_at", "verified", Q(status__in=VERIFIED_STATUSES, verified_at__isnull=False)),
        ("k_success_at", "k_success", Q(k_success_at__isnull=False)),
    ):
        grouped = (
            rows.filter(condition)
            .annotate(day=TruncDate(field, tzinfo=tz))
            .order_by()
            .values("day")
            .annotate(n=Count("id"))
        )
        for row in grouped:
            if row["day"] in days:
                days[row["day"]][key] = row["n"]

    return {
        "campaign": campaign.pk,
        "computed_at": now.isoformat(),
        "participations": {**by_status, "total": sum(by_status.values())},
        "submitted": submitted,
        "verified": verified,
        "verified_rate": _rate(verified, submitted),
        "k_success": k_success,
        "conversion_rate": _rate(k_success, verified),
        "locations": list(per_location.values()),
        "daily": list(days.values()),
    }
