"""A campaign's places and the positions participants claimed, as a small to-scale SVG for the admin (no map
tiles, so nothing is fetched from third parties and no creator's position leaves the page). Each point's
coordinates are in its tooltip (SVG <title>), for an editor checking a claim against the place."""

from __future__ import annotations

import math

from django.utils.html import escape, format_html, mark_safe

from campaigns.models import Campaign, ParticipationStatus

WIDTH, HEIGHT, PAD = 640, 360, 24
COLOURS = {
    ParticipationStatus.VERIFIED: "#2e7d32",
    ParticipationStatus.K_SUCCESS: "#f9a825",
    ParticipationStatus.REJECTED: "#c62828",
}
_M_PER_DEG = 111_320.0


def _where(point) -> str:
    """Latitude, longitude as an editor would paste them into a map (about 1 m at 5 decimals)."""
    return f"{point.y:.5f}, {point.x:.5f}"


def positions_map_svg(campaign: Campaign, *, limit: int = 2000) -> str:
    locations = list(campaign.locations.all())
    positions = list(
        campaign.participations.filter(claimed_position__isnull=False)
        .order_by("-id")
        .values_list("claimed_position", "status")[:limit]
    )
    if not locations and not positions:
        return "No locations yet."
    lat0 = sum(p.y for p in [loc.point for loc in locations] + [pos for pos, _ in positions]) / (
        len(locations) + len(positions)
    )
    kx = math.cos(math.radians(lat0)) * _M_PER_DEG  # metres per degree of longitude here

    def metres(point) -> tuple[float, float]:
        return point.x * kx, point.y * _M_PER_DEG

    xs, ys = [], []
    for loc in locations:
        x, y = metres(loc.point)
        xs += [x - loc.radius_m, x + loc.radius_m]
        ys += [y - loc.radius_m, y + loc.radius_m]
    for pos, _ in positions:
        x, y = metres(pos)
        xs.append(x)
        ys.append(y)
    span = max(max(xs) - min(xs), max(ys) - min(ys), 200.0)
    scale = min(WIDTH - 2 * PAD, HEIGHT - 2 * PAD) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def screen(x: float, y: float) -> tuple[float, float]:
        return WIDTH / 2 + (x - cx) * scale, HEIGHT / 2 - (y - cy) * scale

    shapes = []
    for loc in locations:
        sx, sy = screen(*metres(loc.point))
        shapes.append(
            format_html(
                '<circle cx="{}" cy="{}" r="{}" fill="#1565c033" stroke="#1565c0"><title>{}</title></circle>'
                '<text x="{}" y="{}" font-size="11" fill="#0d47a1">{}</text>',
                f"{sx:.1f}",
                f"{sy:.1f}",
                f"{max(loc.radius_m * scale, 2):.1f}",
                f"{loc.name}: {_where(loc.point)}, radius {loc.radius_m} m",
                f"{sx + 4:.1f}",
                f"{sy - 4:.1f}",
                loc.name,
            )
        )
    for pos, status in positions:
        sx, sy = screen(*metres(pos))
        shapes.append(
            format_html(
                '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}</title></circle>',
                f"{sx:.1f}",
                f"{sy:.1f}",
                COLOURS.get(status, "#616161"),
                f"{status}: {_where(pos)}",
            )
        )
    legend = escape(f"{len(locations)} locations, {len(positions)} claimed positions; scale bar 100 m")
    bar = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#000"/>', PAD, HEIGHT - 8, f"{PAD + 100 * scale:.1f}", HEIGHT - 8
    )
    return mark_safe(  # noqa: S308 - every interpolated value above went through format_html/escape
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{legend}" style="background:#fafafa;border:1px solid #ddd">' + "".join(shapes) + bar + "</svg>"
    )
