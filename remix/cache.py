"""Cached reads of the public API and their invalidation.

`recipe:{node}` (the Smart Recipe View, 1 h) and `similar:{node}:{k}` (1 h). A change to a
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

from remix.models import RemixNode

logger = logging.getLogger("kmeme.cache")

RECIPE_TTL_S = 3600
SIMILAR_TTL_S = 3600


def recipe_key(public_id: object) -> str:
    return f"recipe:{public_id}"


def similar_key(public_id: object, k: int) -> str:
    return f"similar:{public_id}:{k}"


def cached(key: str, ttl: int, build: Callable[[], Any]) -> Any:
    """The value under `key`, built and kept for `ttl` seconds on a miss. Logs `cache_hit` / `cache_miss` with the
    cache's name (the key's prefix: recipe, similar)."""
    value = cache.get(key)
    name = key.split(":", 1)[0]
    if value is None:
        logger.info("cache_miss", extra={"event": "cache_miss", "cache": name})
        value = build()
        cache.set(key, value, ttl)
    else:
        logger.info("cache_hit", extra={"event": "cache_hit", "cache": name})
    return value


def node_cache_invalidate(*, node: RemixNode, publication_changed: bool = False) -> None:
    """Drop the cached reads a change to `node` makes stale (after the surrounding transaction commits)."""
    ids = {node.public_id}
    ids |= set(RemixNode.objects.filter(child_mutations__child_id=node.pk).values_list("public_id", flat=True))

    def drop() -> None:
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
