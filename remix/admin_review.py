"""The review screen and the bulk review actions of the node admin.

Views only collect input and show results: every decision is a call to remix.review,
so the screen, the bulk actions and any other caller follow the same rules.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import AuditLog
from accounts.services import audit_log_record
from kmeme.errors import ApplicationError, error_body
from kmeme.platforms import Platform
from remix import brief_content, review, review_locks
from remix.forms import BriefForm, BulkReasonForm, ManualAnalysisForm, ReasonForm, RevisionForm
from remix.history import history_lines
from remix.models import Layer, Mutation, RemixBrief, RemixNode, ReviewStatus, VideoAnalysis
from remix.selectors import review_next_node

# Decisions about the node's current brief: refused on the screen while the node has none.
BRIEF_DECISIONS = frozenset({"save", "approve", "approve_with_edits", "reject", "regenerate"})


def _beat_facts(node: RemixNode, analyses: list[VideoAnalysis]) -> dict[str, float | None]:
    """What the beat table checks a script against: the video's duration and tempo (measured, else analysed)."""
    probe = node.probe or {}
    known = next((a for a in analyses if a.provider != "probe"), None)
    duration = probe.get("duration_s") or (float(known.duration_s) if known and known.duration_s else None)
    bpm = probe.get("bpm") or (float(known.bpm) if known and known.bpm else None)
    return {"duration_s": duration, "bpm": bpm}


def _measured(node: RemixNode) -> float | None:
    """The duration we measured ourselves (the probe), if the video was downloaded."""
    value = (node.probe or {}).get("duration_s")
    return float(value) if value else None


def video_embed(node: RemixNode) -> dict[str, str]:
    """How to show the source video: an embedded player where the platform allows, a link otherwise."""
    if node.platform in (Platform.YOUTUBE, Platform.YOUTUBE_SHORTS):
        parts = urlsplit(node.source_url)
        video_id = parse_qs(parts.query).get("v", [""])[0] or parts.path.rstrip("/").rsplit("/", 1)[-1]
        if video_id:
            return {"kind": "iframe", "src": f"https://www.youtube-nocookie.com/embed/{video_id}"}
    if node.media_name:
        return {"kind": "video", "src": default_storage.url(node.media_name)}
    return {"kind": "link", "src": node.source_url}


# What each bulk action reports, as whole sentences so that each language words them its own way (the key is also the
# audit action's suffix: bulk.approved, bulk.rejected, bulk.sent_back).
BULK_OUTCOMES = {
    "approved": (
        ngettext_lazy("Approved %(n)d node.", "Approved %(n)d nodes.", "n"),
        gettext_lazy("Not approved"),
    ),
    "rejected": (
        ngettext_lazy("Rejected %(n)d node.", "Rejected %(n)d nodes.", "n"),
        gettext_lazy("Not rejected"),
    ),
    "sent_back": (
        ngettext_lazy("Sent back %(n)d node.", "Sent back %(n)d nodes.", "n"),
        gettext_lazy("Not sent back"),
    ),
}
BULK_TITLES = {
    "rejected": ngettext_lazy("Reject: %(n)d node", "Reject: %(n)d nodes", "n"),
    "sent_back": ngettext_lazy("Send back: %(n)d node", "Send back: %(n)d nodes", "n"),
}


class ReviewAdminMixin:
    """Adds /admin/remix/remixnode/<id>/review/ and the bulk review actions to the node admin."""

    review_template = "admin/remix/remixnode/review.html"
    actions = ["approve_selected", "reject_selected", "regenerate_selected"]

    # --- permissions ----------------------------------------------------------------------------------------------

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("remix.review_remixnode")

    def get_urls(self):
        urls = super().get_urls()
        review_url = path(
            "<path:object_id>/review/", self.admin_site.admin_view(self.review_view), name="remix_remixnode_review"
        )
        lock_url = path(
            "<path:object_id>/review/lock/",
            self.admin_site.admin_view(require_POST(self.lock_view)),
            name="remix_remixnode_review_lock",
        )
        next_url = path("next/", self.admin_site.admin_view(self.next_view), name="remix_remixnode_review_next")
        return [next_url, lock_url, review_url, *urls]

    def next_view(self, request: HttpRequest) -> HttpResponse:
        """ "Take the next item": the oldest item nobody else is reviewing (after `?after=<id>`, when skipping one).
        Takes no lock: the editor does by starting to work."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        after = (
            RemixNode.objects.filter(pk=request.GET.get("after")).first()
            if request.GET.get("after", "").isdigit()
            else None
        )
        upcoming = review_next_node(after=after, editor=request.user)
        if upcoming is None:
            messages.info(request, _("The queue is empty, or everything in it is being reviewed by someone else."))
            return HttpResponseRedirect(reverse("admin:index"))
        return HttpResponseRedirect(reverse("admin:remix_remixnode_review", args=[upcoming.pk]))

    # --- who is reviewing what ------------------------------------------------------------------------------------

    def get_changelist_instance(self, request: HttpRequest):
        """The node list, with each shown node's review lock read in one round trip (its "Being reviewed by")."""
        changelist = super().get_changelist_instance(request)
        locks = review_locks.review_locks_for(node_ids=[node.pk for node in changelist.result_list])
        for node in changelist.result_list:
            node.review_lock = locks.get(node.pk)
        return changelist

    @admin.display(description=gettext_lazy("Being reviewed by"))
    def review_lock_holder(self, node: RemixNode) -> str:
        lock = getattr(node, "review_lock", None)
        if lock is None:
            return "—"
        return format_html('{} <span class="quiet">since {}</span>', lock.user_name, f"{lock.taken:%H:%M}")

    def lock_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """The review page's calls: `acquire` (the editor started editing), `heartbeat` (still at it: renews, never
        takes), `release` (left the page). Answers whether the editor holds the lock and who does."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        try:
            pk = RemixNode._meta.pk.to_python(unquote(object_id))
        except ValidationError as exc:
            raise Http404(_("No such node.")) from exc
        node = get_object_or_404(RemixNode, pk=pk)
        action = request.POST.get("action", "")
        if action == "acquire":
            review_locks.review_lock_acquire(node=node, editor=request.user)
        elif action == "heartbeat":
            review_locks.review_lock_heartbeat(node=node, editor=request.user)
        elif action == "release":
            review_locks.review_lock_release(node=node, editor=request.user)
        else:
            body = error_body(
                status_code=400,
                code="validation_error",
                message="`action` must be acquire, heartbeat or release.",
                details={"action": [_("Not one of acquire, heartbeat, release.")]},
            )
            return JsonResponse(body, status=400)
        lock = review_locks.review_lock_get(node=node)
        return JsonResponse(
            {
                "held": lock is not None and lock.user_id == request.user.pk,
                "holder": lock.user_name if lock else None,
                "expires_at": lock.expires.isoformat() if lock else None,
            }
        )

    # --- the review screen ------------------------------------------------------------------------------------------

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_review_permission(request):
            raise PermissionDenied
        try:
            pk = RemixNode._meta.pk.to_python(unquote(object_id))
        except ValidationError as exc:  # not a node id at all: the same 404 as an id nobody has
            raise Http404(_("No remix node with the id “%(object_id)s”.") % {"object_id": object_id}) from exc
        node = get_object_or_404(
            RemixNode.objects.select_related("owner").prefetch_related(
                Prefetch(
                    "parent_mutations",
                    queryset=Mutation.objects.select_related("parent").order_by("created_at", "id"),
                    to_attr="parent_edges",
                ),
                Prefetch("briefs", queryset=RemixBrief.objects.select_related("reviewer").order_by("-version")),
                Prefetch("analyses", queryset=VideoAnalysis.objects.order_by("-created_at", "-id")),
            ),
            pk=pk,
        )
        briefs = list(node.briefs.all())
        brief = briefs[0] if briefs else None
        forms: dict[str, Any] = {
            "brief": BriefForm.for_brief(brief) if brief else BriefForm(prefix="brief", initial={"revision": 0}),
            "reason": ReasonForm(prefix="decision"),
            "analysis": ManualAnalysisForm(
                prefix="analysis", initial=self._analysis_initial(node), measured_duration_s=_measured(node)
            ),
        }
        if request.method == "POST":
            response = self._decide(request, node, brief, forms)
            if response is not None:
                return response
        # Opening the screen takes no lock: reading is free. The lock comes with starting to edit (see lock_view).
        lock = review_locks.review_lock_get(node=node)
        held = lock is not None and lock.user_id == request.user.pk
        analyses = list(node.analyses.all())
        diff = brief_content.brief_diff(brief=brief) if brief else []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Review: %(title)s") % {"title": node.title},
            "node": node,
            "video": video_embed(node),
            "analysis": next((a for a in analyses if a.provider != "probe"), analyses[0] if analyses else None),
            "analyses": analyses,
            "brief": brief,
            "earlier_briefs": briefs[1:],
            "diff": diff,
            "diff_changed": sum(1 for row in diff if row["changed"]),
            "diff_unchanged": sum(1 for row in diff if not row["changed"]),
            "forms": forms,
            "lock_held": held,
            "lock": lock,
            "lock_url": reverse("admin:remix_remixnode_review_lock", args=[node.pk]),
            "beat_facts": _beat_facts(node, analyses),
            "heartbeat_ms": settings.REVIEW_HEARTBEAT_SECONDS * 1000,
            "idle_ms": settings.REVIEW_IDLE_SECONDS * 1000,
            "theirs": forms.pop("theirs", None),
            "can_edit": node.layer == Layer.MASTER
            and brief is not None
            and brief.review_status == ReviewStatus.PENDING,
            "history": history_lines(
                list(
                    AuditLog.objects.filter(target_type="remix.remixnode", target_id=str(node.pk)).select_related(
                        "actor"
                    )[:20]
                )
            ),
            "history_url": reverse("admin:accounts_auditlog_changelist")
            + f"?target_type=remix.remixnode&target_id={node.pk}",
            "genealogy_url": reverse("admin:remix_mutation_changelist") + f"?q={node.public_id}",
        }
        return TemplateResponse(request, self.review_template, context)

    def _analysis_initial(self, node: RemixNode) -> dict[str, Any]:
        """The manual analysis starts from what is known: the latest analysis that says anything (an AI's or an
        editor's), else what we measured (duration, tempo, scene cuts)."""
        probe = node.probe or {}
        known = next((a for a in node.analyses.all() if a.provider != "probe" and a.duration_s is not None), None)
        if known is not None:
            return {
                "duration_s": known.duration_s,
                "bpm": known.bpm,
                "commerce_category": known.commerce_category,
                "hook": known.hook,
                "keyframes": "\n".join(f"{float(k['t']):.2f} | {k.get('description', '')}" for k in known.keyframes),
            }
        return {
            "duration_s": probe.get("duration_s"),
            "bpm": probe.get("bpm"),
            "commerce_category": node.commerce_category,
            "keyframes": "\n".join(f"{k['t']:.2f} | " for k in probe.get("keyframes", [])),
        }

    def _decide(
        self, request: HttpRequest, node: RemixNode, brief: RemixBrief | None, forms: dict
    ) -> HttpResponse | None:
        """Apply the decision the editor pressed; None means show the screen again (with their input kept)."""
        action = request.POST.get("action", "")
        editor = request.user
        try:
            if action == "start":
                review_locks.review_lock_require(node=node, editor=editor)
                return HttpResponseRedirect(request.path)
            if action == "takeover":
                review_locks.review_lock_takeover(node=node, editor=editor)
                messages.warning(request, _("You took over the review of this node; the other editor was locked out."))
                if brief is not None and "brief-concept" in request.POST:  # keep what the editor typed meanwhile
                    self._keep_text(request, brief, forms)
                return None
            if action in BRIEF_DECISIONS and brief is None:
                raise ApplicationError(
                    _("This node has no brief yet: there is nothing to approve, edit, reject or send back."),
                    code="no_brief",
                )
            if action in ("save", "approve", "approve_with_edits"):
                forms["brief"] = BriefForm.for_brief(brief, data=request.POST)
                if action == "approve" and not forms["brief"].has_changed():
                    revision = self._posted_revision(request) or 0
                    review.brief_approve(brief=brief, editor=editor, expected_revision=revision)
                    return self._done(request, node, _("Approved “%(title)s”.") % {"title": node.title})
                if not forms["brief"].is_valid():
                    messages.error(request, _("Some fields need attention; nothing was saved."))
                    return None
                content, revision = forms["brief"].content(), forms["brief"].cleaned_data["revision"]
                if action == "save":
                    review.brief_edit(brief=brief, editor=editor, content=content, expected_revision=revision)
                    messages.success(request, _("Your edits are saved; the AI's version is kept beside them."))
                    return HttpResponseRedirect(request.path)
                edits = forms["brief"].has_changed()
                review.brief_approve(brief=brief, editor=editor, expected_revision=revision, content=content)
                return self._done(
                    request,
                    node,
                    (_("Approved “%(title)s” with your edits.") if edits else _("Approved “%(title)s”."))
                    % {"title": node.title},
                )
            if action in ("reject", "regenerate", "unpublish", "generate_brief"):
                forms["reason"] = ReasonForm(request.POST, prefix="decision")
                text = forms["reason"].data.get("decision-reason", "").strip()
                revision = self._posted_revision(request) or None
                if action == "reject":
                    review.brief_reject(brief=brief, editor=editor, reason=text, expected_revision=revision)
                    return self._done(request, node, _("Rejected “%(title)s”.") % {"title": node.title})
                if action == "regenerate":
                    review.brief_request_regeneration(
                        brief=brief, editor=editor, notes=text, expected_revision=revision
                    )
                    return self._done(
                        request,
                        node,
                        _("A new brief for “%(title)s” is being written with your notes.") % {"title": node.title},
                    )
                if action == "generate_brief":
                    review.brief_generate_for_review(node=node, editor=editor, notes=text)
                    return self._done(
                        request, node, _("A brief for “%(title)s” is being written.") % {"title": node.title}
                    )
                review.node_unpublish(node=node, editor=editor, reason=text)
                return self._done(request, node, _("“%(title)s” is no longer public.") % {"title": node.title})
            if action == "publish":
                review.node_publish(node=node, editor=editor)
                return self._done(request, node, _("Published “%(title)s”.") % {"title": node.title})
            if action == "fill_analysis":
                forms["analysis"] = ManualAnalysisForm(
                    request.POST, prefix="analysis", measured_duration_s=_measured(node)
                )
                if not forms["analysis"].is_valid():
                    messages.error(request, _("The analysis needs attention; nothing was saved."))
                    return None
                review.analysis_fill(node=node, editor=editor, **forms["analysis"].cleaned_data)
                messages.success(request, _("Analysis saved. Now have the brief written, or write it yourself."))
                return HttpResponseRedirect(request.path)
            if action == "write_brief":
                forms["brief"] = BriefForm(request.POST, prefix="brief")
                if not forms["brief"].is_valid():
                    messages.error(request, _("Some fields need attention; nothing was saved."))
                    return None
                review.brief_write(node=node, editor=editor, content=forms["brief"].content())
                messages.success(request, _("Your brief is saved and awaits approval."))
                return HttpResponseRedirect(request.path)
            messages.error(request, _("Unknown action."))
        except ApplicationError as exc:
            if exc.code == "stale_object" and brief is not None and "brief-concept" in request.POST:
                current = self._keep_text(request, brief, forms)
                forms["theirs"] = {"brief": current, "diff": brief_content.brief_diff(brief=current)}
                messages.error(
                    request,
                    _(
                        "Someone else saved this brief while you edited it: their version is shown "
                        "beside yours. Your text "
                        "is kept below; save or approve again to put yours over theirs."
                    ),
                )
            else:
                messages.error(request, exc.message)
        return None

    @staticmethod
    def _keep_text(request: HttpRequest, brief: RemixBrief, forms: dict) -> RemixBrief:
        """Show the editor's posted text again against the brief's current revision, so that resubmitting it is a
        deliberate overwrite rather than refused again. Returns the current brief."""
        current = RemixBrief.objects.get(pk=brief.pk)
        data = request.POST.copy()
        data["brief-revision"] = str(current.revision)
        forms["brief"] = BriefForm.for_brief(current, data=data)
        return current

    @staticmethod
    def _posted_revision(request: HttpRequest) -> int | None:
        """The brief revision the editor's screen showed (None if it sent none), for the stale-form check."""
        form = RevisionForm(request.POST, prefix="brief")
        if not form.is_valid():
            raise ApplicationError(
                _("This form is damaged: its brief revision is not a number. Reload the page; nothing was saved."),
                code="invalid_revision",
            )
        return form.cleaned_data["revision"]

    def _done(self, request: HttpRequest, node: RemixNode, message: str) -> HttpResponse:
        """After a decision: release the lock and go on to the next item of the queue."""
        review_locks.review_lock_release(node=node, editor=request.user)
        messages.success(request, message)
        upcoming = review_next_node(after=node, editor=request.user)
        if upcoming is None:
            messages.info(request, _("The queue is empty."))
            return HttpResponseRedirect(reverse("admin:index"))
        return HttpResponseRedirect(reverse("admin:remix_remixnode_review", args=[upcoming.pk]))

    # --- bulk actions ----------------------------------------------------------------------------------------------

    def _bulk(self, request: HttpRequest, queryset, outcome: str, decide) -> None:
        done, failed = 0, []
        nodes = list(queryset.select_related("owner"))
        held_before = {
            pk
            for pk, lock in review_locks.review_locks_for(node_ids=[n.pk for n in nodes]).items()
            if lock.user_id == request.user.pk
        }
        for node in nodes:
            brief = node.briefs.order_by("-version").first()
            try:
                if brief is None:
                    raise ApplicationError(_("it has no brief"), code="no_brief")
                decide(node, brief)
                done += 1
            except ApplicationError as exc:
                failed.append(f"“{node.title}”: {exc.message}")
            finally:
                if node.pk not in held_before:  # the decision locked it for its moment; leave nothing behind
                    review_locks.review_lock_release(node=node, editor=request.user)
        done_message, refused = BULK_OUTCOMES[outcome]
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for line in failed:
            self.message_user(request, f"{refused}: {line}", messages.ERROR)
        audit_log_record(
            actor=request.user,
            action=f"bulk.{outcome}",
            details={
                "node_ids": [n.pk for n in queryset],
                "done": done,
                "failed": failed,
            },
        )

    @admin.action(permissions=["review"], description=gettext_lazy("Approve the selected briefs"))
    def approve_selected(self, request: HttpRequest, queryset) -> None:
        self._bulk(
            request,
            queryset,
            "approved",
            lambda node, brief: review.brief_approve(
                brief=brief, editor=request.user, expected_revision=brief.revision
            ),
        )

    @admin.action(permissions=["review"], description=gettext_lazy("Reject the selected briefs (one reason for all)…"))
    def reject_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            "reject_selected",
            "rejected",
            lambda node, brief, text: review.brief_reject(
                brief=brief, editor=request.user, reason=text, expected_revision=brief.revision
            ),
        )

    @admin.action(
        permissions=["review"], description=gettext_lazy("Request new briefs for the selected nodes (with notes)…")
    )
    def regenerate_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            "regenerate_selected",
            "sent_back",
            lambda node, brief, text: review.brief_request_regeneration(
                brief=brief, editor=request.user, notes=text, expected_revision=brief.revision
            ),
        )

    def _with_reason(self, request: HttpRequest, queryset, action: str, outcome: str, decide) -> HttpResponse | None:
        """An intermediate page asks once for the reason (or notes), then applies it to every selected node."""
        form = BulkReasonForm(request.POST if "apply" in request.POST else None, prefix="decision")
        if "apply" in request.POST and form.is_valid():
            text = form.cleaned_data["reason"]
            self._bulk(request, queryset, outcome, lambda node, brief: decide(node, brief, text))
            return None
        return TemplateResponse(
            request,
            "admin/kmeme_bulk_reason.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": BULK_TITLES[outcome] % {"n": queryset.count()},
                "objects": queryset,
                "form": form,
                "action": action,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # nodes are archived through the workflow, never deleted in bulk
        return actions
