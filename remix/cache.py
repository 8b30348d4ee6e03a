"""Cached reads of the public API and their invalidation.

`recipe:{node}` (the Smart Recipe View, 1 h; 24 h when the nightly pre-generation warms it) and
`similar:{node}:{k}` (1 h). Reads of published recipes are counted in one Redis sorted set (`recipe_reads`), which
the nightly pre-generation reads to warm the most-read ones and then clears. A change to a
node, its brief or its children drops the node's and its parents' entries once the change
commits; a change of who is published drops every similar-list, since any of them may list
the node. Writes call `node_cache_invalidate` from their service, so no path forgets it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from remix.models import RemixNode

logger = logging.getLogger("kmeme.cache")

RECIPE_TTL_S = 3600
RECIPE_WARM_TTL_S = 24 * 3600  # safe: every write drops the entry (node_cache_invalidate), the TTL is a backstop
SIMILAR_TTL_S = 3600


def recipe_key(public_id: object) -> str:
    return f"recipe:{public_id}"


def similar_key(public_id: object, k: int) -> str:
    return f"similar:{public_id}:{k}"


GENERATION_TTL_S = 2 * 24 * 3600  # longer than any entry it guards


def recipe_generation_key(public_id: object) -> str:
    return f"recipe_gen:{public_id}"


def cache_set_unless_changed(key: str, value: Any, ttl: int, *, generation_key: str | None, before: Any) -> None:
    """Keep `value` unless a write bumped `generation_key` since `before` was read (the value was built from what
    that write replaced): the invalidation may have run between the build and this set, and must win."""
    cache.set(key, value, ttl)
    if generation_key is not None and cache.get(generation_key) != before:
        cache.delete(key)


def cached(key: str, ttl: int, build: Callable[[], Any], *, generation_key: str | None = None) -> Any:
    """The value under `key`, built and kept for `ttl` seconds on a miss. Logs `cache_hit` / `cache_miss` with the
    cache's name (the key's prefix: recipe, similar). With `generation_key`, a value built while a write changed
    what it reads is not kept (see cache_set_unless_changed)."""
    value = cache.get(key)
    name = key.split(":", 1)[0]
    if value is None:
        logger.info("cache_miss", extra={"event": "cache_miss", "cache": name})
        before = cache.get(generation_key) if generation_key else None
        value = build()
        cache_set_unless_changed(key, value, ttl, generation_key=generation_key, before=before)
    else:
        logger.info("cache_hit", extra={"event": "cache_hit", "cache": name})
    return value


def _reads_key() -> str:
    return cache.make_key("recipe_reads")


def recipe_read_count(public_id: object) -> None:
    """Count one read of a published recipe (for the nightly warm-up). Never fails a read: a Redis error is logged."""
    try:
        get_redis_connection("default").zincrby(_reads_key(), 1, str(public_id))
    except RedisError:
        logger.warning("recipe read not counted: Redis refused", exc_info=True)


def recipes_most_read(*, top: int) -> list[tuple[str, int]]:
    """(public id, reads) of the `top` most-read recipes since the counts were last cleared, most read first."""
    rows = get_redis_connection("default").zrevrange(_reads_key(), 0, top - 1, withscores=True)
    return [(member.decode(), int(score)) for member, score in rows]


def recipe_reads_clear() -> None:
    get_redis_connection("default").delete(_reads_key())


def node_cache_invalidate(*, node: RemixNode, publication_changed: bool = False) -> None:
    """Drop the cached reads a change to `node` makes stale (after the surrounding transaction commits)."""
    ids = {node.public_id}
    ids |= set(RemixNode.objects.filter(child_mutations__child_id=node.pk).values_list("public_id", flat=True))

    def drop() -> None:
        for public_id in ids:  # a build under way from the old state will not keep its result
            generation = recipe_generation_key(public_id)
            cache.add(generation, 0, timeout=GENERATION_TTL_S)
            cache.incr(generation)
        cache.delete_many([recipe_key(i) for i in ids])
        if publication_changed:
            cache.delete_pattern("similar:*")
        else:
            for public_id in ids:
                cache.delete_pattern(f"similar:{public_id}:*")

    # Now, so this transaction reads fresh data; and again after commit, in case another request cached
    # the old state in between.
    drop()
    transaction.on_commit(drop)
