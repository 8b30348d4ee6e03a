"""Creators' forks of published masters: only the owner edits, publishes or deletes a fork."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError
from kmeme.media.guard import url_check
from remix.cache import node_cache_invalidate
from remix.lineage import mutation_create, mutation_update
from remix.models import Layer, Mutation, NodeStatus, RemixNode
from remix.services import node_change, node_create, node_link_check, node_transition

FORKING_ROLES = (Role.CREATOR, Role.ADMIN)


def _require_owner(fork: RemixNode, user: User) -> None:
    if fork.layer != Layer.FORK:
        raise ApplicationError(_("Masters are read-only through the API."), code="permission_denied", status_code=403)
    if fork.owner_id != user.pk:
        raise ApplicationError(
            _("Only the creator of a fork can change it."), code="permission_denied", status_code=403
        )


@transaction.atomic
def node_fork(
    *,
    master: RemixNode,
    creator: User,
    title: str,
    mutation_types: list[str],
    profile: dict[str, Any] | None = None,
    source_url: str = "",
) -> RemixNode:
    """A creator's fork of a published node (a master, or someone's published fork: a remix of a remix): a draft
    node they own, linked to it by a Mutation edge."""
    if creator.role not in FORKING_ROLES:
        raise ApplicationError(_("Only creators fork remixes."), code="permission_denied", status_code=403)
    if master.status != NodeStatus.PUBLISHED:
        # Any published node, master or fork: remix chains grow as deep as creators take them.
        raise ApplicationError(_("Only published remixes can be forked."), code="not_forkable", status_code=409)
    if source_url:
        url_check(url=source_url)  # the creator's own video link is held to the submission's rules
    fork = node_create(
        title=title,
        source_url=source_url or master.source_url,
        owner=creator,
        layer=Layer.FORK,
        commerce_category=master.commerce_category,
    )
    mutation_create(parent=master, child=fork, mutation_types=mutation_types, profile=profile, created_by=creator)
    audit_log_record(
        actor=creator,
        action="node.fork",
        target=fork,
        details={
            "master": str(master.public_id),
            "mutation_types": sorted(set(mutation_types)),
        },
    )
    node_cache_invalidate(node=fork)
    return fork


@transaction.atomic
def fork_update(
    *,
    fork: RemixNode,
    user: User,
    title: str | None = None,
    source_url: str | None = None,
    posted_url: str | None = None,
    mutation_types: list[str] | None = None,
    profile: dict[str, Any] | None = None,
) -> RemixNode:
    """The creator's edit of their fork. `posted_url` is their remix as posted on its platform: the video the
    performance collector reads its counts from (genealogy.performance); "" clears it. Links are checked like a
    submission's; every change is audited (`node.update`, before → after)."""
    _require_owner(fork, user)
    fields = {"title": title, "source_url": source_url, "posted_url": posted_url}
    node_link_check(node=fork, changes=fields)
    locked = RemixNode.objects.select_for_update().get(pk=fork.pk)
    node_change(node=locked, actor=user, changes={k: v for k, v in fields.items() if v is not None})
    fork.title, fork.source_url, fork.platform = locked.title, locked.source_url, locked.platform
    fork.posted_url = locked.posted_url
    if mutation_types is not None or profile is not None:
        # The fork's origin edge: the one node_fork created.
        edge = Mutation.objects.filter(child=fork).order_by("created_at", "id").first()
        mutation_update(edge=edge, actor=user, mutation_types=mutation_types, profile=profile)
    node_cache_invalidate(node=fork)
    return fork


@transaction.atomic
def fork_publish(*, fork: RemixNode, user: User, publish: bool = True) -> RemixNode:
    _require_owner(fork, user)
    node_transition(
        node=fork,
        to=NodeStatus.PUBLISHED if publish else NodeStatus.DRAFT,
        actor=user,
        reason="published by its creator" if publish else "unpublished by its creator",
    )
    return fork


@transaction.atomic
def fork_delete(*, fork: RemixNode, user: User) -> None:
    _require_owner(fork, user)
    if Mutation.objects.filter(parent=fork).exists():
        raise ApplicationError(
            _("Others have remixed this fork; it can be unpublished but not deleted."),
            code="fork_has_children",
            status_code=409,
        )
    if fork.participations.exists():
        raise ApplicationError(
            _("This fork is part of a campaign entry; it cannot be deleted."), code="fork_in_campaign", status_code=409
        )
    node_cache_invalidate(node=fork, publication_changed=fork.status == NodeStatus.PUBLISHED)
    audit_log_record(actor=user, action="node.delete", target=fork, details={"title": fork.title}, authored_by=user)
    fork.delete()
