"""factory_boy factories that go through the services, as users' actions would."""

from __future__ import annotations

import factory

from accounts.models import Role
from remix import review
from remix.lineage import mutation_create
from remix.models import BriefSource, Layer, NodeStatus, RemixNode
from remix.services import analysis_record, brief_create, node_create, node_transition
from tests.accounts.factories import UserFactory


class NodeFactory(factory.Factory):
    class Meta:
        model = RemixNode

    title = factory.Sequence(lambda n: f"Remix {n}")
    source_url = factory.Sequence(lambda n: f"https://www.tiktok.com/@someone/video/{7300000000000000000 + n}")
    owner = factory.LazyFunction(lambda: UserFactory(role=Role.EDITOR))
    layer = Layer.MASTER
    parent = None  # a node to link as this one's origin (a lineage edge), as forking does

    @classmethod
    def _create(cls, model_class, *args, parent: RemixNode | None = None, **kwargs) -> RemixNode:
        node = node_create(**kwargs)
        if parent is not None:
            mutation_create(parent=parent, child=node, mutation_types=["format_change"])
        return node


# A brief as an editor sees it in review (shared test data, set up through the services).
BRIEF = {
    "concept": "성수 카페 버전",
    "hook": "컵을 돌리면 장소가 바뀐다",
    "script": [
        {"t": 0.0, "beat": 1, "shot": "클로즈업", "line": ""},
        {"t": 3.75, "beat": 8, "shot": "전환", "line": ""},
    ],
    "caption": "성수 카페 투어",
    "hashtags": ["#성수카페"],
    "music_notes": "",
    "cultural_notes": "",
    "product_placement": "",
}

# What Gemini answers in the pipeline tests (the JSON analysis).
AI_ANALYSIS = {
    "duration_s": 7.0,
    "bpm": 128,
    "keyframes": [{"t": 0.0, "description": "red room"}, {"t": 2.0, "description": "blue room"}],
    "hook": "the colour flips on the beat",
    "commerce_category": "food",
    "on_screen_text": ["wait for it"],
    "mood": "playful",
}

# What Claude answers in the pipeline tests (the tool call's input).
AI_BRIEF = {
    "concept": "성수동 카페 버전 색 전환",
    "hook": "컵을 돌리면 방 색이 바뀐다",
    "script": [
        {"t": 0.0, "beat": 1, "shot": "빨간 방 클로즈업", "line": "기다려 봐"},
        {"t": 1.88, "beat": 5, "shot": "파란 방으로 점프컷", "line": ""},
    ],
    "caption": "색이 바뀌는 순간 🎨",
    "hashtags": ["#성수카페", "#색전환"],
    "music_notes": "128 BPM 저작권 free",
    "cultural_notes": "한국 카페 소품으로 교체",
    "product_placement": "",
}


def node_in_review(*, title: str = "Latte art", layer: str = Layer.MASTER, parent: RemixNode | None = None):
    node = node_create(
        title=title,
        source_url=f"https://www.tiktok.com/@a/video/{abs(hash(title))}",
        owner=None,
        layer=layer,
    )
    if parent is not None:
        mutation_create(parent=parent, child=node, mutation_types=["format_change"])
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    analysis_record(node=node, provider="manual", status="ok", duration_s=15, bpm=128, commerce_category="food")
    brief = brief_create(node=node, content=BRIEF, source=BriefSource.AI, model="claude-sonnet-5-5")
    node_transition(node=node, to=NodeStatus.IN_REVIEW, actor=None)
    return node, brief


def published_master(title: str = "Latte art") -> RemixNode:
    editor = UserFactory(role=Role.EDITOR)
    node, brief = node_in_review(title=title)
    review.brief_approve(brief=brief, editor=editor, expected_revision=brief.revision)
    review.node_publish(node=node, editor=editor)
    return RemixNode.objects.get(pk=node.pk)


def brief_post(brief, action: str, **changes) -> dict:
    content = {**brief.content, **changes}
    return {
        "action": action,
        "brief-revision": brief.revision,
        "brief-concept": content["concept"],
        "brief-hook": content["hook"],
        "brief-script": "\n".join(f"{b['t']} | {b['beat']} | {b['shot']} | {b['line']}" for b in content["script"]),
        "brief-caption": content["caption"],
        "brief-hashtags": " ".join(content["hashtags"]),
        "brief-music_notes": content["music_notes"],
        "brief-cultural_notes": content["cultural_notes"],
        "brief-product_placement": content["product_placement"],
    }
