"""What the demo shows: the remixes, their briefs and the statuses they are walked to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from remix.models import NodeStatus


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


def demo_brief(concept: str, hook: str, caption: str, hashtags: list[str]) -> dict[str, Any]:
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
        demo_brief(
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
        demo_brief("3단계 물광 피부 루틴", "거울 닦기 → 피부 광", "3단계면 충분해요 ✨", ["#물광피부", "#kbeauty"]),
    ),
    DemoNode(
        "ramyeon",
        "Han river convenience-store ramyeon challenge",
        "https://www.youtube.com/shorts/demo0000003",
        NodeStatus.IN_REVIEW,
        "food",
        110.0,
        18.0,
        demo_brief("한강 편의점 라면 챌린지", "라면 기계 버튼 클로즈업", "한강 라면 국룰 🍜", ["#한강라면", "#편의점"]),
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
        demo_brief("차트 음악 모음", "인기곡 하이라이트", "플레이리스트", ["#kpop"]),
    ),
    DemoNode(
        "winter-haul",
        "Last winter's padding haul",
        "https://cdn.example.com/demo/winter-haul.mp4",
        NodeStatus.ARCHIVED,
        "fashion",
    ),
]

# A creator's published fork of the latte master, and a blend of it with the glass-skin master.
FORK = DemoNode(
    "latte-fork",
    "Latte-art transition, Busan edition",
    "https://www.tiktok.com/@kmeme.creator/video/7300000000000000101",
    NodeStatus.PUBLISHED,
    "food",
    128.0,
    14.5,
    demo_brief("부산 해운대 카페 버전", "바다 배경으로 컵 돌리기", "해운대 카페 ☕🌊", ["#부산카페", "#라떼아트"]),
)
BLEND = DemoNode(
    "latte-glass-blend",
    "Morning routine café blend",
    "https://www.instagram.com/reel/Cdemo000102/",
    NodeStatus.DRAFT,
    "beauty",
    100.0,
    20.0,
    demo_brief("카페 + 스킨케어 모닝 루틴", "라떼 한 모금, 물광 한 번", "모닝 루틴 ☕✨", ["#모닝루틴"]),
)
