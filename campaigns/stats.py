"""A campaign's numbers, for its brand's members (API) and for editors (admin): the same function for both.

- participations by status; `submitted`: those submitted at least once; `verified`: verified or K-Success;
- `verified_rate` = verified ÷ submitted; `conversion_rate` = K-Success ÷ verified (the headline metric: design target
  above 10 %, alert under 5 %); None when the divisor is 0;
- per location (every location of the campaign, zeros included), and a daily series from the campaign's start to
  today (or its end): submitted (by last submission), verified (by last check), K-Success (by certification), in
  the project's time zone.

Seven queries whatever the number of participations (grouped counts on the (campaign, status) index).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Participation, ParticipationStatus

VERIFIED_STATUSES = (ParticipationStatus.VERIFIED, ParticipationStatus.K_SUCCESS)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_stats(*, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
    now = at or timezone.now()
    rows = Participation.objects.filter(campaign=campaign)
    by_status = {status: 0 for status in ParticipationStatus.values}
    for status, n in rows.order_by().values_list("status").annotate(n=Count("id")):
        by_status[status] = n
    submitted = rows.filter(submissions__gt=0).count()
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
