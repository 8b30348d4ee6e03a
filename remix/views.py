"""Server-rendered pages of the public site (the frontend is a separate app; these are shareable fallbacks)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kmeme.middleware import content_security_policy
from remix.recipe import recipe_get, recipe_guide_text
from remix.selectors import node_for_viewer

YOUTUBE_EMBED = "https://www.youtube-nocookie.com"


@require_GET
@content_security_policy(frame_src=YOUTUBE_EMBED)
def recipe_page(request: HttpRequest, node_id: UUID) -> HttpResponse:
    node = node_for_viewer(public_id=str(node_id), viewer=request.user)
    if node is None:
        raise Http404("No such remix.")
    recipe = recipe_get(node=node)
    return render(request, "remix/recipe.html", {"recipe": recipe, "guide": recipe_guide_text(recipe)})
