"""Search embeddings: the text a node is embedded from, and which of two embedders fills the vector column.

Two embedders fill the same column: a deterministic, offline one (`kmeme.ai.offline.local_embedding`: hashed
word and character features, no model, no network) and Gemini's embedding model
(`kmeme.ai.gemini.gemini_embedding`). Their vectors live in different spaces, so comparing one with the other
means nothing. The kind is therefore chosen once for the whole table by the setting `EMBEDDINGS_PROVIDER`
("local", the default, or "gemini"); every write follows it, and switching it means
`manage.py rebuild_embeddings` for every node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.utils import translation

from kmeme.ai.gemini import gemini_embedding
from kmeme.ai.offline import local_embedding
from kmeme.ai.scrub import scrub_text
from kmeme.vocabulary import CommerceCategory

PROVIDERS = ("local", "gemini")
# Gemini's embedding models read up to ~2k tokens; a node's summary is far shorter, this only bounds cost.
MAX_TEXT_CHARS = 2000
_BRIEF_FIELDS = ("concept", "hook", "caption", "hashtags")


def _strings(value: Any) -> list[str]:
    """The strings inside a brief field: a string, or a list of them (hashtags)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, str)]
    return []


def embedding_text_compose(
    *,
    title: str,
    commerce_category: str = CommerceCategory.NONE,
    brief: dict[str, Any] | None = None,
    analysis_hook: str = "",
    keyframes: Iterable[Any] = (),
    names: Iterable[str] = (),
) -> str:
    """The embedded text from its parts (no database access): one line per distinct part, personal data scrubbed."""
    parts = [title]
    if commerce_category and commerce_category != CommerceCategory.NONE:
        # The source label, whatever language the request or job runs in: an embedding must not depend on it.
        with translation.override(None):
            parts.append(str(CommerceCategory(commerce_category).label))
    for field in _BRIEF_FIELDS:
        strings = _strings((brief or {}).get(field))
        parts.append(" ".join(strings))
    parts.append(analysis_hook)
    parts.extend(str(frame.get("description") or "") for frame in keyframes if isinstance(frame, dict))
    names = tuple(names)
    lines: list[str] = []
    for part in parts:
        line = " ".join(scrub_text(part, names=names).split())
        if line and line not in lines:  # the brief's hook often repeats the analysis's
            lines.append(line)
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def embeddings_provider() -> str:
    """The kind of vector the whole table holds (settings.EMBEDDINGS_PROVIDER, "local" unless set)."""
    provider = getattr(settings, "EMBEDDINGS_PROVIDER", "local")
    if provider not in PROVIDERS:
        raise ValueError(f"EMBEDDINGS_PROVIDER must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    return provider


def embeddings_kind(provider: str = "auto") -> str:
    """The kind to write: "auto" follows EMBEDDINGS_PROVIDER; naming the other kind is refused (ValueError)."""
    configured = embeddings_provider()
    if provider == "auto":
        return configured
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be 'auto' or one of {', '.join(PROVIDERS)}, not {provider!r}")
    if provider != configured:
        # A vector of the other kind would sit in the same index and match nothing meaningfully.
        raise ValueError(
            f"The table holds {configured} embeddings (EMBEDDINGS_PROVIDER); refusing to write {provider} ones."
        )
    return provider


def embeddings_compute(*, texts: Sequence[str], node_ids: Sequence[int | None], kind: str) -> list[list[float]]:
    """Unit-length vectors of `texts`, of the given kind (see embeddings_kind). Gemini raises ProviderUnavailable."""
    if kind == "gemini":
        return gemini_embedding(texts, node_ids)
    return [local_embedding(text) for text in texts]
