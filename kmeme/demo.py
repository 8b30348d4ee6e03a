"""Demo content for a new installation: every app has something to look at.

Loaded by `manage.py seed_demo` (and `make run`). Idempotent: each object has a
natural key (emails, URLs, names), and an object that exists is left alone, so
loading twice creates nothing the second time. Analyses and briefs here are
labelled as written by an editor, never as AI output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import consent_record, user_create
from campaigns.models import Brand, Campaign
from campaigns.services import brand_create, campaign_create, campaign_location_add, participation_submit
from genealogy.models import NodePerformanceSnapshot
from genealogy.services import mutation_create
from remix.models import BriefSource, Layer, NodeStatus, RemixNode, ReviewStatus
from remix.services import analysis_record, brief_create, node_create, node_transition

# The path through the workflow to reach each status.
PATHS: dict[str, list[str]] = {
    NodeStatus.DRAFT: [],
    NodeStatus.ANALYZING: [NodeStatus.ANALYZING],
    NodeStatus.NEEDS_REVIEW: [NodeStatus.ANALYZING, NodeStatus.NEEDS_REVIEW],
    NodeStatus.IN_REVIEW: [NodeStatus.ANALYZING, NodeStatus.IN_REVIEW],
    NodeStatus.APPROVED: [NodeStatus.ANALYZING, NodeStatus.IN_REVIEW, NodeStatus.APPROVED],
    NodeStatus.PUBLISHED: [NodeStatus.ANALYZING, NodeStatus.IN_REVIEW, NodeStatus.APPROVED, NodeStatus.PUBLISHED],
    NodeStatus.REJECTED: [NodeStatus.ANALYZING, NodeStatus.IN_REVIEW, NodeStatus.REJECTED],
    NodeStatus.ARCHIVED: [NodeStatus.ARCHIVED],
}


@dataclass(frozen=True)
class DemoNode:
    key: str
    title: str
    url: str
    status: str
    category: str
    bpm: float | None = 120.0
    duration: float = 15.0
    brief: dict[str, Any] = field(default_factory=dict)


def _brief(concept: str, hook: str, caption: str, hashtags: list[str]) -> dict[str, Any]:
    return {
        "concept": concept,
        "hook": hook,
        "script": [
            {"t": 0.0, "beat": 1, "shot": "훅: 클로즈업으로 시작", "line": hook},
            {"t": 3.75, "beat": 8, "shot": "전환: 비트에 맞춘 점프컷", "line": ""},
            {"t": 11.25, "beat": 24, "shot": "마무리: 제품/장소를 화면 중앙에", "line": "저장하고 따라 해 보세요!"},
        ],
        "caption": caption,
        "hashtags": hashtags,
        "music_notes": "원본과 비슷한 BPM의 저작권 free 트랙",
        "cultural_notes": "한국 시청자에게 익숙한 장소와 말투로 바꾼다.",
        "product_placement": "",
    }


MASTERS = [
    DemoNode(
        "latte",
        "Seongsu café latte-art transition",
        "https://www.tiktok.com/@kmeme.demo/video/7300000000000000001",
        NodeStatus.PUBLISHED,
        "food",
        128.0,
        14.5,
        _brief(
            "성수동 카페 라떼아트 전환 영상",
            "컵을 돌리면 장소가 바뀐다",
            "성수 카페 투어 ☕",
            ["#성수카페", "#라떼아트"],
        ),
    ),
    DemoNode(
        "glass-skin",
        "K-beauty 3-step glass-skin routine",
        "https://www.instagram.com/reel/Cdemo000002/",
        NodeStatus.APPROVED,
        "beauty",
        96.0,
        21.0,
        _brief("3단계 물광 피부 루틴", "거울 닦기 → 피부 광", "3단계면 충분해요 ✨", ["#물광피부", "#kbeauty"]),
    ),
    DemoNode(
        "ramyeon",
        "Han river convenience-store ramyeon challenge",
        "https://www.youtube.com/shorts/demo0000003",
        NodeStatus.IN_REVIEW,
        "food",
        110.0,
        18.0,
        _brief("한강 편의점 라면 챌린지", "라면 기계 버튼 클로즈업", "한강 라면 국룰 🍜", ["#한강라면", "#편의점"]),
    ),
    DemoNode(
        "hanok-dance",
        "Dance cover in a hanok village",
        "https://www.tiktok.com/@kmeme.demo/video/7300000000000000004",
        NodeStatus.NEEDS_REVIEW,
        "entertainment",
        None,
        15.0,
    ),
    DemoNode(
        "snack-mashup", "Convenience-store snack mashup", "https://youtu.be/demo0000005", NodeStatus.ANALYZING, "food"
    ),
    DemoNode(
        "subway-ootd",
        "Subway platform outfit check",
        "https://www.instagram.com/reel/Cdemo000006/",
        NodeStatus.DRAFT,
        "fashion",
    ),
    DemoNode(
        "music-compilation",
        "Unlicensed chart-music compilation",
        "https://www.youtube.com/watch?v=demo0000007",
        NodeStatus.REJECTED,
        "entertainment",
        124.0,
        58.0,
        _brief("차트 음악 모음", "인기곡 하이라이트", "플레이리스트", ["#kpop"]),
    ),
    DemoNode(
        "winter-haul",
        "Last winter's padding haul",
        "https://cdn.example.com/demo/winter-haul.mp4",
        NodeStatus.ARCHIVED,
        "fashion",
    ),
]


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        bucket = self.created if created else self.existing
        bucket[kind] = bucket.get(kind, 0) + 1

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def _user(report: SeedReport, email: str, role: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    report.count("users", user is None)
    if user is None:
        user = user_create(email=email, role=role, display_name=name)
        consent_record(user=user, kind="terms", granted=True, terms_version="2026-01")
        consent_record(user=user, kind="privacy", granted=True, terms_version="2026-01")
    return user


def _walk(node: RemixNode, status: str, editor: User, spec: DemoNode) -> None:
    for step in PATHS[status]:
        if step == NodeStatus.NEEDS_REVIEW:
            analysis_record(
                node=node,
                provider="probe",
                status="fallback",
                duration_s=spec.duration,
                bpm=spec.bpm,
                probe={"duration_s": spec.duration, "fps": 30, "width": 1080, "height": 1920, "has_audio": True},
                error="Demo: no AI provider configured; an editor must fill in the analysis.",
            )
        if step == NodeStatus.IN_REVIEW:
            analysis_record(
                node=node,
                provider="manual",
                status="ok",
                duration_s=spec.duration,
                bpm=spec.bpm,
                keyframes=[{"t": 0.0, "description": "hook"}, {"t": spec.duration / 2, "description": "transition"}],
                hook=spec.brief.get("hook", ""),
                commerce_category=spec.category,
            )
            brief_create(node=node, content=spec.brief, source=BriefSource.EDITOR)
        if step in (NodeStatus.APPROVED, NodeStatus.REJECTED):
            brief = node.briefs.get(review_status=ReviewStatus.PENDING)
            brief.review_status = step
            brief.reviewer = editor
            brief.reviewed_at = timezone.now()
            brief.review_notes = "Demo: uses unlicensed music." if step == NodeStatus.REJECTED else ""
            brief.full_clean()
            brief.save()
        node_transition(node=node, to=step, actor=editor, reason="demo data")


def _node(report: SeedReport, spec: DemoNode, owner: User, editor: User, **extra: Any) -> RemixNode:
    node = RemixNode.objects.filter(source_url=spec.url).first()
    report.count("remix nodes", node is None)
    if node is None:
        node = node_create(title=spec.title, source_url=spec.url, owner=owner, commerce_category=spec.category, **extra)
        _walk(node, spec.status, editor, spec)
    return node


def _snapshots(report: SeedReport, node: RemixNode, base_views: int) -> None:
    if node.snapshots.exists():
        report.count("performance snapshots", False)
        return
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    NodePerformanceSnapshot.objects.bulk_create(
        NodePerformanceSnapshot(
            node=node,
            views=base_views * day,
            likes=base_views * day // 12,
            shares=base_views * day // 40,
            captured_at=now - timedelta(days=3 - day),
        )
        for day in (1, 2, 3)
    )
    report.count("performance snapshots", True)


@transaction.atomic
def demo_load() -> SeedReport:
    report = SeedReport()
    editor = _user(report, "editor@kmeme.local", Role.EDITOR, "Demo Editor")
    creator = _user(report, "creator@kmeme.local", Role.CREATOR, "Demo Creator")
    brand_user = _user(report, "brand@kmeme.local", Role.BRAND, "Demo Brand Manager")

    masters = {spec.key: _node(report, spec, editor, editor) for spec in MASTERS}

    fork_spec = DemoNode(
        "latte-fork",
        "Latte-art transition, Busan edition",
        "https://www.tiktok.com/@kmeme.creator/video/7300000000000000101",
        NodeStatus.PUBLISHED,
        "food",
        128.0,
        14.5,
        _brief("부산 해운대 카페 버전", "바다 배경으로 컵 돌리기", "해운대 카페 ☕🌊", ["#부산카페", "#라떼아트"]),
    )
    fork = _node(report, fork_spec, creator, editor, layer=Layer.FORK, parent=masters["latte"])
    blend_spec = DemoNode(
        "latte-glass-blend",
        "Morning routine café blend",
        "https://www.instagram.com/reel/Cdemo000102/",
        NodeStatus.IN_REVIEW,
        "beauty",
        100.0,
        20.0,
        _brief("카페 + 스킨케어 모닝 루틴", "라떼 한 모금, 물광 한 번", "모닝 루틴 ☕✨", ["#모닝루틴"]),
    )
    blend = _node(report, blend_spec, creator, editor, layer=Layer.FORK, parent=fork)

    edges = [
        (masters["latte"], fork, ["localization", "setting_change"], {"from": "Seoul Seongsu", "to": "Busan Haeundae"}),
        (fork, blend, ["format_change", "product_swap"], {"note": "latte art becomes a skincare step"}),
        (masters["glass-skin"], blend, ["audio_swap"], {"track": "same BPM, royalty-free"}),
    ]
    for parent, child, types, profile in edges:
        exists = parent.child_mutations.filter(child=child).exists()
        report.count("mutations", not exists)
        if not exists:
            mutation_create(parent=parent, child=child, mutation_types=types, profile=profile, created_by=creator)

    _snapshots(report, masters["latte"], 120_000)
    _snapshots(report, masters["glass-skin"], 45_000)
    _snapshots(report, fork, 30_000)

    brand = Brand.objects.filter(name="Hanbit Cosmetics (demo)").first()
    report.count("brands", brand is None)
    if brand is None:
        brand = brand_create(name="Hanbit Cosmetics (demo)", owner=brand_user)

    campaign = Campaign.objects.filter(brand=brand, title="Glass skin in Seongsu").first()
    report.count("campaigns", campaign is None)
    if campaign is None:
        now = timezone.now()
        campaign = campaign_create(
            brand=brand,
            title="Glass skin in Seongsu",
            description="Shoot the glass-skin routine at one of our pop-up stores and tag the brand.",
            starts_at=now - timedelta(days=7),
            ends_at=now + timedelta(days=30),
            success_views=50_000,
            master_nodes=[masters["glass-skin"], masters["latte"]],
        )
        campaign.status = "active"
        campaign.save(update_fields=["status", "updated_at"])
        campaign_location_add(
            campaign=campaign,
            name="Seongsu pop-up",
            longitude=127.0557,
            latitude=37.5446,
            radius_m=300,
            address="서울 성동구 성수이로 (Seongsu station exit 3)",
        )
        campaign_location_add(
            campaign=campaign,
            name="Hongdae pop-up",
            longitude=126.9237,
            latitude=37.5563,
            radius_m=250,
            address="서울 마포구 양화로 (Hongik Univ. station exit 9)",
        )
        participation_submit(
            campaign=campaign,
            creator=creator,
            video_url=blend_spec.url,
            fork_node=blend,
            longitude=127.0561,
            latitude=37.5449,
        )
        report.created["locations"] = campaign.locations.count()
        report.count("participations", True)
    return report
