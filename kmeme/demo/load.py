"""Demo content for a new installation: every app has something to look at.

Loaded by `manage.py seed_demo` (and `make run`). Idempotent: each object has a
natural key (emails, URLs, names), and an object that exists is left alone, so
loading twice creates nothing the second time. Analyses and briefs here are
labelled as written by an editor, never as AI output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, Upload, User
from accounts.services import consent_record, user_create
from accounts.uploads import upload_start
from campaigns.models import Brand, Campaign, CampaignStatus
from campaigns.participations import participation_submit
from campaigns.services import brand_create, campaign_create, campaign_location_add, campaign_transition
from genealogy.models import SnapshotSource
from genealogy.services import snapshot_record, tracking_record
from kmeme.demo.content import BLEND, FORK, MASTERS, DemoNode
from remix.forks import fork_publish, fork_update, node_fork
from remix.lineage import mutation_create
from remix.models import BriefSource, NodeStatus, RemixNode, ReviewStatus
from remix.review import brief_approve, brief_reject, node_publish
from remix.review_locks import review_lock_release
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
        for kind in ("terms", "privacy"):
            consent_record(user=user, kind=kind, granted=True, terms_version=settings.CONSENT_TERMS_VERSIONS[kind])
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
        # The editor's decisions go through the review services, so the demo has their audit rows too.
        if step == NodeStatus.APPROVED:
            brief = node.briefs.get(review_status=ReviewStatus.PENDING)
            brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
        elif step == NodeStatus.REJECTED:
            brief = node.briefs.get(review_status=ReviewStatus.PENDING)
            brief_reject(
                brief=brief, editor=editor, reason="Demo: uses unlicensed music.", expected_revision=brief.revision
            )
        elif step == NodeStatus.PUBLISHED:
            node_publish(node=node, editor=editor)
        else:
            node_transition(node=node, to=step, actor=editor, reason="demo data")
    review_lock_release(node=node, editor=editor)


def _node(report: SeedReport, spec: DemoNode, owner: User, editor: User) -> RemixNode:
    node = RemixNode.objects.filter(source_url=spec.url).first()
    report.count("remix nodes", node is None)
    if node is None:
        node = node_create(title=spec.title, source_url=spec.url, owner=owner, commerce_category=spec.category)
        _walk(node, spec.status, editor, spec)
    return node


def _fork(
    report: SeedReport, spec: DemoNode, master: RemixNode, creator: User, types: list[str], profile: dict
) -> RemixNode:
    """A creator's fork, made as a creator makes one (node_fork), and published by them if the spec says so."""
    fork = RemixNode.objects.filter(source_url=spec.url).first()
    report.count("remix nodes", fork is None)
    if fork is None:
        fork = node_fork(
            master=master, creator=creator, title=spec.title, mutation_types=types, profile=profile, source_url=spec.url
        )
        if spec.status == NodeStatus.PUBLISHED:
            fork_publish(fork=fork, user=creator)
            # Posted: its snapshots follow the creator's own video, as the API's PATCH posted_url sets it.
            fork_update(fork=fork, user=creator, posted_url=spec.url)
    return fork


def _snapshots(report: SeedReport, node: RemixNode, base_views: int) -> None:
    if node.snapshots.exists():
        report.count("performance snapshots", False)
        return
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for day in (1, 2, 3):
        snapshot_record(
            node=node,
            views=base_views * day,
            likes=base_views * day // 12,
            comments=base_views * day // 300,
            shares=base_views * day // 40,
            captured_at=now - timedelta(days=3 - day),
            source=SnapshotSource.DEMO,
        )
    # The collector's note of its last read, as the admin's performance tracking page shows it.
    tracking_record(node=node, url=node.posted_url or node.source_url, at=now)
    report.count("performance snapshots", True)


@transaction.atomic
def demo_load() -> SeedReport:
    report = SeedReport()
    editor = _user(report, "editor@kmeme.local", Role.EDITOR, "Demo Editor")
    creator = _user(report, "creator@kmeme.local", Role.CREATOR, "Demo Creator")
    brand_user = _user(report, "brand@kmeme.local", Role.BRAND, "Demo Brand Manager")

    masters = {spec.key: _node(report, spec, editor, editor) for spec in MASTERS}
    if not Upload.objects.filter(owner=creator).exists():  # a started upload (no file: demo data stores none)
        upload_start(owner=creator, filename="demo-clip.mp4", content_type="video/mp4", size=1024)

    fork = _fork(
        report,
        FORK,
        masters["latte"],
        creator,
        ["localization", "setting_change"],
        {"from": "Seoul Seongsu", "to": "Busan Haeundae"},
    )
    # A blend: the creator forks the latte master again, and an editor links two more parents to it.
    blend = _fork(
        report,
        BLEND,
        masters["latte"],
        creator,
        ["format_change", "product_swap"],
        {"note": "latte art becomes a skincare step"},
    )
    for parent, types, profile in (
        (fork, ["setting_change"], {"note": "the Busan café as the set"}),
        (masters["glass-skin"], ["audio_swap"], {"track": "same BPM, royalty-free"}),
    ):
        linked = parent.child_mutations.filter(child=blend).exists()
        report.count("mutations", not linked)
        if not linked:
            mutation_create(parent=parent, child=blend, mutation_types=types, profile=profile, created_by=editor)

    _snapshots(report, masters["latte"], 120_000)
    _snapshots(report, masters["glass-skin"], 45_000)
    _snapshots(report, fork, 30_000)

    brand = Brand.objects.filter(name="Seongsu Roasters (demo)").first()
    report.count("brands", brand is None)
    if brand is None:
        brand = brand_create(name="Seongsu Roasters (demo)", owner=brand_user)

    campaign = Campaign.objects.filter(brand=brand, title="Latte art at our Seongsu pop-ups").first()
    report.count("campaigns", campaign is None)
    if campaign is None:
        now = timezone.now()
        campaign = campaign_create(
            brand=brand,
            title="Latte art at our Seongsu pop-ups",
            description="Remix the latte-art transition at one of our pop-up cafés and tag the brand.",
            starts_at=now - timedelta(days=7),
            ends_at=now + timedelta(days=30),
            success_views=50_000,
            master_nodes=[masters["latte"]],  # creators remix published masters
            actor=brand_user,
        )
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
        campaign_transition(campaign=campaign, to=CampaignStatus.ACTIVE, actor=brand_user, reason="demo data")
        consent_record(  # the position a video was shot at is sent with the creator's consent
            user=creator, kind="location", granted=True, terms_version=settings.CONSENT_TERMS_VERSIONS["location"]
        )
        participation_submit(
            campaign=campaign,
            creator=creator,
            video_url=fork.posted_url or FORK.url,
            fork_node=fork,
            longitude=127.0561,
            latitude=37.5449,
        )
        report.created["locations"] = campaign.locations.count()
        report.count("participations", True)
    return report
