"""A campaign's numbers, for its brand's members (API) and for editors (admin): the same function for both.

- participations by status; `submitted`: those submitted at least once; `verified`: verified or K-Success;
- `verified_rate` = verified ÷ submitted; `conversion_rate` = K-Success ÷ verified (the headline metric: design target
  above 10 %, alert under 5 %); None when the divisor is 0;
- per location (every location of the campaign, zeros included), and a daily series from the campaign's start to
  today (or its end): submitted (by last submission), verified (by last check), K-Success (by certification), in
  the project's time zone.

Four queries whatever the number of participations: the totals, the locations, their counts, and one pass for
the three daily series.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign, Participation, ParticipationStatus

VERIFIED_STATUSES = (ParticipationStatus.VERIFIED, ParticipationStatus.K_SUCCESS)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_stats(*, campaign: Campaign, at: datetime | None = None) -> dict[str, Any]:
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
    with connection.cursor() as cursor:  # one pass over the campaign's rows for the three series
        cursor.execute(
            """
            SELECT (e.at AT TIME ZONE %(tz)s)::date AS day, e.kind, count(*)
            FROM campaigns_participation p
            CROSS JOIN LATERAL (VALUES
                ('submitted', p.submitted_at),
                ('verified', CASE WHEN p.status IN ('verified', 'k_success') THEN p.verified_at END),
                ('k_success', p.k_success_at)
            ) AS e(kind, at)
            WHERE p.campaign_id = %(campaign)s AND e.at IS NOT NULL
            GROUP BY 1, 2
            """,
            {"tz": str(tz), "campaign": campaign.pk},
        )
        for day_, kind, n in cursor.fetchall():
            if day_ in days:
                days[day_][kind] = n

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
