"""Server-rendered pages of the public site (the frontend is a separate app; these are shareable fallbacks)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kmeme.middleware import content_security_policy
from remix.cache import RECIPE_TTL_S, cached, recipe_key
from remix.models import NodeStatus
from remix.recipe import recipe_build, recipe_guide_text
from remix.selectors import node_for_recipe, node_for_viewer

YOUTUBE_EMBED = "https://www.youtube-nocookie.com"


@require_GET
@content_security_policy(frame_src=YOUTUBE_EMBED)
def recipe_page(request: HttpRequest, node_id: UUID) -> HttpResponse:
    node = node_for_viewer(public_id=str(node_id), viewer=request.user)
    if node is None:
        raise Http404("No such remix.")

    def build() -> dict:
        return recipe_build(node=node_for_recipe(pk=node.pk))

    recipe = cached(recipe_key(node.public_id), RECIPE_TTL_S, build) if node.status == NodeStatus.PUBLISHED else build()
    return render(request, "remix/recipe.html", {"recipe": recipe, "guide": recipe_guide_text(recipe)})
