"""Which prompts editors trust: every decision an editor makes on a brief, measured against what the writer produced.

`brief_decision_record` (called by the review services for approve, reject and send back, single or bulk) stores
how far the editor's version moved from the generated one — the fields changed, the edit distance of their text
(Levenshtein, over each field as an editor reads it, line endings and surrounding space normalised), the decision,
and the time it took — keyed by prompt version and model. `prompt_quality` reads them per prompt version and model
for the admin's *Prompt quality* page and the dashboard; `corrections` yields (input, AI output, editor's final
version) for `manage.py export_corrections`, personal data scrubbed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone
from rapidfuzz.distance import Levenshtein

from accounts.models import User
from kmeme.ai.prompts import CURRENT
from kmeme.ai.scrub import scrub
from remix.brief_content import BRIEF_FIELDS, brief_display
from remix.models import BriefDecision, BriefSource, DecisionKind, RemixBrief, ReviewStatus

DECISIONS = {
    ReviewStatus.APPROVED: DecisionKind.APPROVED,
    ReviewStatus.REJECTED: DecisionKind.REJECTED,
    ReviewStatus.REGENERATION_REQUESTED: DecisionKind.SENT_BACK,
}


def _text(value: Any) -> str:
    return "\n".join(line.rstrip() for line in brief_display(value).replace("\r\n", "\n").split("\n")).strip()


def brief_changes(*, generated: dict[str, Any], final: dict[str, Any] | None) -> tuple[list[str], int, int]:
    """(fields changed, edit distance, characters of the generated text) between the writer's version and the
    editor's (None: not edited)."""
    final = final if final is not None else generated
    changed, distance, size = [], 0, 0
    for name in BRIEF_FIELDS:
        before, after = _text(generated.get(name)), _text(final.get(name, generated.get(name)))
        size += len(before)
        if before != after:
            changed.append(name)
            distance += Levenshtein.distance(before, after)
    return changed, distance, size


def brief_decision_record(*, brief: RemixBrief, editor: User, started_at: datetime | None = None) -> BriefDecision:
    """Measure and keep the decision just taken on `brief` (its review_status says which). Called by the review
    services in their transaction, so a refused decision records nothing."""
    now = timezone.now()
    changed, distance, size = brief_changes(generated=brief.generated, final=brief.edited)
    return BriefDecision.objects.create(
        brief=brief,
        editor=editor,
        decision=DECISIONS[brief.review_status],
        source=brief.source,
        prompt_version=brief.prompt_version,
        model=brief.model,
        fields_changed=changed,
        edit_distance=distance,
        generated_chars=size,
        review_seconds=max(int((now - started_at).total_seconds()), 0) if started_at else None,
        queue_seconds=max(int((now - brief.created_at).total_seconds()), 0),
        decided_at=now,
    )


@dataclass
class PromptQuality:
    """One prompt version and model (or the rule-based writer) over the window."""

    prompt_version: str
    model: str
    source: str
    reviewed: int
    approved: int
    approved_unedited: int
    rejected: int
    sent_back: int
    mean_edit_distance: float | None  # over approvals
    mean_edit_share: float | None  # edit distance ÷ generated length, over approvals
    mean_review_seconds: float | None
    top_fields: list[tuple[str, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.source == BriefSource.RULE_BASED:
            return "rule-based writer"
        return f"{self.prompt_version or 'unknown prompt'} · {self.model or 'unknown model'}"

    @property
    def is_current(self) -> bool:
        return self.prompt_version == current_brief_prompt()

    def _rate(self, n: int) -> float | None:
        return n / self.reviewed if self.reviewed else None

    @property
    def unedited_rate(self) -> float | None:
        return self.approved_unedited / self.approved if self.approved else None

    @property
    def rejection_rate(self) -> float | None:
        return self._rate(self.rejected)

    @property
    def send_back_rate(self) -> float | None:
        return self._rate(self.sent_back)


def current_brief_prompt() -> str:
    return f"brief.{CURRENT['brief']}"


def prompt_quality(*, days: int | None = 90) -> list[PromptQuality]:
    """Per prompt version and model (editor-written briefs left out: no writer to judge), newest prompt first. Two
    queries: the aggregates, and the changed fields."""
    decisions = BriefDecision.objects.exclude(source=BriefSource.EDITOR)
    if days is not None:
        decisions = decisions.filter(decided_at__gte=timezone.now() - timedelta(days=days))
    approved = Q(decision=DecisionKind.APPROVED)
    rows = (
        decisions.values("prompt_version", "model", "source")
        .annotate(
            reviewed=Count("id"),
            approved=Count("id", filter=approved),
            approved_unedited=Count("id", filter=approved & Q(edit_distance=0)),
            rejected=Count("id", filter=Q(decision=DecisionKind.REJECTED)),
            sent_back=Count("id", filter=Q(decision=DecisionKind.SENT_BACK)),
            mean_edit_distance=Avg("edit_distance", filter=approved),
            mean_review_seconds=Avg("review_seconds"),
        )
        .order_by("-prompt_version", "model", "source")
    )
    fields: dict[tuple[str, str, str], Counter] = {}
    shares: dict[tuple[str, str, str], list[float]] = {}
    for d in decisions.values(
        "prompt_version", "model", "source", "fields_changed", "decision", "edit_distance", "generated_chars"
    ).iterator():
        key = (d["prompt_version"], d["model"], d["source"])
        fields.setdefault(key, Counter()).update(d["fields_changed"] or [])
        if d["decision"] == DecisionKind.APPROVED and d["generated_chars"]:
            shares.setdefault(key, []).append(d["edit_distance"] / d["generated_chars"])
    result = []
    for row in rows:
        key = (row["prompt_version"], row["model"], row["source"])
        share = shares.get(key)
        result.append(
            PromptQuality(
                **row,
                mean_edit_share=sum(share) / len(share) if share else None,
                top_fields=fields.get(key, Counter()).most_common(3),
            )
        )
    return result


def current_prompt_quality() -> PromptQuality | None:
    """The current brief prompt's row (90 days, its newest model), for the dashboard; None before any decision."""
    rows = [row for row in prompt_quality(days=90) if row.is_current]
    return max(rows, key=lambda row: row.reviewed) if rows else None


def corrections(*, prompt_version: str) -> Iterator[dict[str, Any]]:
    """For prompt iteration: each decided brief written with `prompt_version` — the writer's input (the analysis it
    was given), its output, and the editor's final version (None when rejected or sent back, with the editor's
    reason) — every string scrubbed of personal data (emails, phones, addresses, the node owner's names)."""
    briefs = (
        RemixBrief.objects.filter(prompt_version=prompt_version, decisions__isnull=False)
        .select_related("node", "node__owner")
        .prefetch_related("decisions")
        .distinct()
        .order_by("id")
    )
    for brief in briefs.iterator(chunk_size=200):
        owner = brief.node.owner
        names = [owner.display_name, owner.email.split("@")[0]] if owner else []
        analysis = brief.node.analyses.filter(created_at__lte=brief.created_at).order_by("-created_at", "-id").first()
        decision = max(brief.decisions.all(), key=lambda d: (d.decided_at, d.pk))
        approved = decision.decision == DecisionKind.APPROVED
        yield scrub(
            {
                "brief": f"{brief.node.public_id}/v{brief.version}",
                "prompt_version": brief.prompt_version,
                "model": brief.model,
                "input": {
                    "title": brief.node.title,
                    "analysis": None
                    if analysis is None
                    else {
                        "duration_s": float(analysis.duration_s) if analysis.duration_s is not None else None,
                        "bpm": float(analysis.bpm) if analysis.bpm is not None else None,
                        "keyframes": analysis.keyframes,
                        "hook": analysis.hook,
                        "commerce_category": analysis.commerce_category,
                    },
                    "editor_notes": brief.regeneration_notes,
                },
                "ai_output": brief.generated,
                "decision": decision.decision,
                "final": brief.content if approved else None,
                "reason": "" if approved else brief.review_notes,
                "fields_changed": decision.fields_changed,
                "edit_distance": decision.edit_distance,
            },
            names=names,
        )
