"""What a node is about, as a vector: the text we embed, two ways to embed it, and the refresh service.

Two embedders fill the same column: a deterministic, offline one (`local_embedding`: hashed word and
character features, no model, no network) and Gemini's embedding model. Their vectors live in different
spaces, so comparing one with the other means nothing. The kind is therefore chosen once for the whole
table by the setting `EMBEDDINGS_PROVIDER` ("local", the default, or "gemini"); every write follows it,
and switching it means `manage.py rebuild_embeddings` for every node.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from kmeme.ai.scrub import scrub_text
from kmeme.ai.types import ProviderUnavailable
from remix.models import EMBEDDING_DIMENSIONS, CommerceCategory, RemixBrief, RemixNode, VideoAnalysis

PROVIDERS = ("local", "gemini")
# Gemini's embedding models read up to ~2k tokens; a node's summary is far shorter, this only bounds cost.
MAX_TEXT_CHARS = 2000
# batchEmbedContents takes at most 100 contents per request.
GEMINI_BATCH = 100
_BRIEF_FIELDS = ("concept", "hook", "caption", "hashtags")

# Feature weights of the local embedding: whole words carry the meaning, word pairs the phrasing,
# character trigrams match inflected forms (lattes / latte, 카페에서 / 카페) and typos, and Hangul
# syllable pairs match Korean compounds.
_UNIGRAM_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.6
_TRIGRAM_WEIGHT = 0.4
_SYLLABLE_PAIR_WEIGHT = 0.5
_WORD = re.compile(r"\w+")
# Korean glues particles and endings onto words (카페에서, 카페를, 투어하는): without them the whole-word
# features match too. Only Hangul words, and only while two syllables remain (아이 stays whole).
_KO_PARTICLES_AND_ENDINGS = (
    "에서 에게 으로 로 에 의 을 를 이 가 은 는 와 과 도 만 들 "  # particles
    "하는 하기 하고 해서 했던 했다 합니다 입니다 이다"  # the commonest verb endings
)
_KO_SUFFIXES = sorted(_KO_PARTICLES_AND_ENDINGS.split(), key=len, reverse=True)
_HANGUL_WORD = re.compile(r"[가-힣]+")


# --- the text -------------------------------------------------------------------------------------------------------


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


def _latest_brief(node: RemixNode) -> RemixBrief | None:
    if hasattr(node, "briefs_newest"):  # prefetched by remix.embeddings.nodes_for_embedding
        return node.briefs_newest[0] if node.briefs_newest else None
    return node.briefs.order_by("-version").first()


def _latest_analysis(node: RemixNode) -> VideoAnalysis | None:
    if hasattr(node, "analyses_newest"):
        return node.analyses_newest[0] if node.analyses_newest else None
    return node.analyses.order_by("-created_at", "-id").only("hook", "keyframes").first()


def embedding_text(node: RemixNode) -> str:
    """What a node is about, for search: its title, category, latest brief and latest analysis, scrubbed."""
    from remix.pipeline import personal_names  # the pipeline will refresh embeddings: import late, no cycle

    brief = _latest_brief(node)
    analysis = _latest_analysis(node)
    return embedding_text_compose(
        title=node.title,
        commerce_category=node.commerce_category,
        brief=brief.content if brief is not None else None,
        analysis_hook=analysis.hook if analysis is not None else "",
        keyframes=(analysis.keyframes or []) if analysis is not None else (),
        names=personal_names(node.owner) if node.owner_id else (),
    )


# --- the local embedding ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 18)
def _slot(feature: str) -> tuple[int, float]:
    """Where a feature lands and with which sign: a stable hash (not Python's salted hash())."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % EMBEDDING_DIMENSIONS, 1.0 if (digest >> 63) & 1 else -1.0


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    if not _HANGUL_WORD.fullmatch(word):
        return word
    for _ in range(2):  # 카페들을 → 카페들 → 카페
        suffix = next((s for s in _KO_SUFFIXES if word.endswith(s) and len(word) - len(s) >= 2), None)
        if suffix is None:
            break
        word = word[: -len(suffix)]
    return word


def _features(text: str) -> dict[str, float]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    stems = [_stem(word) for word in words]
    counts: Counter[str] = Counter()
    counts.update(f"w:{stem}" for stem in stems)
    counts.update(f"b:{a} {b}" for a, b in itertools.pairwise(stems))
    for word in words:  # the trigrams see the full form
        padded = f"<{word}>"
        counts.update(f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2))
        if _HANGUL_WORD.fullmatch(word):
            # A Hangul syllable is a whole sound: syllable pairs find words inside compounds and
            # hashtags written without spaces (#딸기라떼 ~ 딸기 라떼), which padded trigrams miss.
            counts.update(f"k:{word[i : i + 2]}" for i in range(len(word) - 1))
    weights = {"w": _UNIGRAM_WEIGHT, "b": _BIGRAM_WEIGHT, "c": _TRIGRAM_WEIGHT, "k": _SYLLABLE_PAIR_WEIGHT}
    return {feature: weights[feature[0]] * (1.0 + math.log(count)) for feature, count in counts.items()}


def local_embedding(text: str) -> list[float]:
    """A deterministic, offline, unit-length vector of EMBEDDING_DIMENSIONS: signed feature hashing of
    word unigrams and bigrams (Korean particles stripped), character trigrams and Hangul syllable pairs,
    with log-scaled counts. Texts sharing words or word parts get a high cosine similarity; unrelated
    texts land near 0."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    features = _features(text) or {"empty:": 1.0}  # no word at all: still a valid unit vector, never NaN
    for feature, weight in features.items():
        index, sign = _slot(feature)
        vector[index] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:  # every feature cancelled out in the hashing (vanishingly rare)
        vector[_slot("empty:")[0]] = norm = 1.0
    return [v / norm for v in vector]


# --- the Gemini embedding ---------------------------------------------------------------------------------------------


def _token_estimate(text: str) -> int:
    """Gemini bills text tokens: about 4 characters each for Latin script, about 1 per Hangul syllable."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return max(1, math.ceil(ascii_chars / 4) + (len(text) - ascii_chars))


def _unit(values: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def _gemini_batch(texts: list[str], node_id: int | None) -> list[list[float]]:
    from google.genai import types

    from kmeme.ai.calls import RawReply, provider_call
    from kmeme.ai.gemini import PROVIDER, gemini_client, is_retryable

    client = gemini_client()
    model = settings.GEMINI_EMBEDDING_MODEL
    config = types.EmbedContentConfig(output_dimensionality=EMBEDDING_DIMENSIONS, task_type="SEMANTIC_SIMILARITY")
    estimate = sum(_token_estimate(t) for t in texts)

    def send() -> RawReply:
        response = client.models.embed_content(model=model, contents=texts, config=config)
        vectors = [list(e.values or []) for e in (response.embeddings or [])]
        # The Gemini API reports no usage for embeddings: the ledger gets the estimate.
        return RawReply(text="", input_tokens=estimate, output_tokens=0, data=vectors)

    def parse(reply: RawReply) -> dict[str, Any]:
        vectors = reply.data or []
        if len(vectors) != len(texts):
            raise ProviderUnavailable(
                f"Gemini returned {len(vectors)} embeddings for {len(texts)} texts.", code="invalid_output"
            )
        unit = []
        for vector in vectors:
            if len(vector) != EMBEDDING_DIMENSIONS:
                raise ProviderUnavailable(
                    f"Gemini returned a {len(vector)}-dimensional embedding, not {EMBEDDING_DIMENSIONS}.",
                    code="invalid_output",
                )
            if not all(math.isfinite(v) for v in vector) or not any(vector):
                raise ProviderUnavailable("Gemini returned a zero or non-finite embedding.", code="invalid_output")
            # Truncated (Matryoshka) outputs are not unit length; cosine search wants them to be.
            unit.append(_unit(vector))
        return {"vectors": unit}

    result = provider_call(
        provider=PROVIDER,
        model=model,
        purpose="embedding",
        node_id=node_id,
        max_input_tokens=sum(len(t) for t in texts) + len(texts),  # at most a token per character
        max_output_tokens=0,
        send=send,
        parse=parse,
        is_retryable=is_retryable,
    )
    return result.content["vectors"]


def gemini_embedding(texts: Sequence[str], node_ids: Sequence[int | None]) -> list[list[float]]:
    """Gemini embeddings of `texts` (unit length, EMBEDDING_DIMENSIONS), one budgeted, retried and ledgered
    call per GEMINI_BATCH texts. `node_ids` pairs each text with its node; the ledger names the node when a
    call embeds one. Raises ProviderUnavailable (not configured, budget, circuit, errors, bad output)."""
    from kmeme.ai.gemini import gemini_configured

    if len(texts) != len(node_ids):
        raise ValueError("give one node id (or None) per text")
    if not gemini_configured():
        raise ProviderUnavailable("No GEMINI_API_KEY is configured.", code="not_configured")
    vectors: list[list[float]] = []
    for start in range(0, len(texts), GEMINI_BATCH):
        batch, ids = list(texts[start : start + GEMINI_BATCH]), list(node_ids[start : start + GEMINI_BATCH])
        vectors.extend(_gemini_batch(batch, ids[0] if len(ids) == 1 else None))
    return vectors


# --- the refresh service ----------------------------------------------------------------------------------------------


def embeddings_provider() -> str:
    """The kind of vector the whole table holds (settings.EMBEDDINGS_PROVIDER, "local" unless set)."""
    provider = getattr(settings, "EMBEDDINGS_PROVIDER", "local")
    if provider not in PROVIDERS:
        raise ValueError(f"EMBEDDINGS_PROVIDER must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    return provider


def _resolve(provider: str) -> str:
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


def nodes_for_embedding() -> Any:
    """Nodes with what embedding_text reads (owner, latest brief, latest analysis) prefetched: no N+1."""
    from django.db.models import Prefetch

    return RemixNode.objects.select_related("owner").prefetch_related(
        Prefetch("briefs", queryset=RemixBrief.objects.order_by("-version"), to_attr="briefs_newest"),
        Prefetch(
            "analyses",
            queryset=VideoAnalysis.objects.order_by("-created_at", "-id").only("node_id", "hook", "keyframes"),
            to_attr="analyses_newest",
        ),
    )


def nodes_embedding_refresh(*, nodes: Sequence[RemixNode], provider: str = "auto") -> str:
    """Recompute and store the embeddings of `nodes` (in one Gemini request per 100 nodes, or locally).

    `provider`: "auto" follows EMBEDDINGS_PROVIDER; naming the other kind than the setting is refused
    (ValueError), so the table never mixes kinds. When the table holds Gemini embeddings and Gemini is
    unconfigured, over budget or failing, this raises ProviderUnavailable and leaves every vector as it was:
    a local vector in a Gemini table would be a wrong answer, a missing one is only a missing answer.
    Returns the kind written: "gemini" or "local".
    """
    kind = _resolve(provider)
    nodes = list(nodes)
    if not nodes:
        return kind
    texts = [embedding_text(node) for node in nodes]
    if kind == "gemini":
        vectors = gemini_embedding(texts, [node.pk for node in nodes])
    else:
        vectors = [local_embedding(text) for text in texts]
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector
    with transaction.atomic():
        if len(nodes) == 1:
            nodes[0].save(update_fields=["embedding"])
        else:
            RemixNode.objects.bulk_update(nodes, ["embedding"])
        # New vectors change whose neighbours anyone is: every cached similar-list may be wrong now.
        cache.delete_pattern("similar:*")
        transaction.on_commit(lambda: cache.delete_pattern("similar:*"))
    return kind


def node_embedding_refresh(*, node: RemixNode, provider: str = "auto") -> str:
    """Recompute and store one node's embedding; see nodes_embedding_refresh for `provider` and errors."""
    return nodes_embedding_refresh(nodes=[node], provider=provider)
