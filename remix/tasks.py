"""Background jobs of the remix app."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from kmeme.ai.budget import ai_calls_owned_by
from kmeme.middleware import request_id_bound
from remix.embeddings import node_embedding_refresh, nodes_for_embedding
from remix.models import NodeStatus, RemixNode
from remix.pipeline import brief_regenerate_run, pipeline_run
from remix.pregenerate import BRIEFS_PER_NIGHT, briefs_pregenerate, nodes_needing_brief, recipe_caches_warm
from remix.recovery import nodes_retry_after_outage, nodes_stranded_release
from remix.services import node_transition

logger = logging.getLogger("kmeme.pipeline")

# Waits of 5, 25, 125 and 625 s: a job is run up to 5 times (procrastinate's max_attempts counts the retries).
PIPELINE_RETRY = RetryStrategy(max_attempts=4, exponential_wait=5)


def _owner(context: JobContext) -> str:
    """Who holds the budget reservations this job attempt makes (the sweep settles them once it is over)."""
    return f"job:{context.job.id}:{context.job.attempts}"


def _pipeline_job_failed(*, context: JobContext, node_id: int, exc: Exception, job_name: str) -> None:
    """Keep a failed run's error visible on the node; after the last attempt, hand the node to an editor.

    Until a later attempt succeeds, the error shows in the admin and the API (`pipeline_error`). When procrastinate
    will not run the job again, the node leaves `analyzing` for `needs_review` with the error as the reason, so no
    submitted URL waits for ever. Never raises: the job's own exception decides its retry."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        RemixNode.objects.filter(pk=node_id).update(pipeline_error=error)
        if context.task.get_retry_exception(exception=exc, job=context.job) is not None:
            return  # procrastinate runs it again later
        runs = context.job.attempts + 1
        with transaction.atomic():
            node = RemixNode.objects.select_for_update().filter(pk=node_id).first()
            if node is None or node.status != NodeStatus.ANALYZING:
                return  # moved on meanwhile (archived, or sent to analysis again by an editor)
            node_transition(
                node=node,
                to=NodeStatus.NEEDS_REVIEW,
                actor=None,
                reason=f"the {job_name} job gave up after {runs} attempt(s): {error}",
            )
        logger.warning(
            "%s job gave up; node sent to manual review", job_name, extra={"node_id": node_id, "error": error}
        )
    except Exception:
        # The database or Redis may be the very thing that failed; the job's record keeps the original error.
        logger.exception("could not record the %s job's failure", job_name, extra={"node_id": node_id})


@app.task(queue="pipeline", retry=PIPELINE_RETRY, pass_context=True)
def node_analyze(context: JobContext, node_id: int, request_id: str = "") -> None:
    """Fetch, probe, analyse and brief one node (remix.pipeline.pipeline_run). Safe to run again."""
    try:
        with request_id_bound(request_id), ai_calls_owned_by(_owner(context)):
            pipeline_run(node_id=node_id)
    except Exception as exc:
        _pipeline_job_failed(context=context, node_id=node_id, exc=exc, job_name="analysis")
        raise
    finally:
        # The worker runs sync jobs in a thread pool; don't leave this thread's connection open between jobs.
        connection.close()


@app.task(queue="pipeline", retry=PIPELINE_RETRY, pass_context=True)
def brief_regenerate(context: JobContext, node_id: int, notes: str = "", request_id: str = "") -> None:
    """Write a new brief version for a node an editor sent back (remix.pipeline.brief_regenerate_run)."""
    try:
        with request_id_bound(request_id), ai_calls_owned_by(_owner(context)):
            brief_regenerate_run(node_id=node_id, notes=notes)
    except Exception as exc:
        _pipeline_job_failed(context=context, node_id=node_id, exc=exc, job_name="brief")
        raise
    finally:
        connection.close()


@app.task(queue="pipeline", retry=RetryStrategy(max_attempts=5, exponential_wait=30), pass_context=True)
def node_embed(context: JobContext, node_id: int, request_id: str = "") -> None:
    """Compute a published node's Gemini embedding (retried while Gemini is unavailable)."""
    try:
        node = nodes_for_embedding().filter(pk=node_id).first()
        if node is not None:
            with request_id_bound(request_id), ai_calls_owned_by(_owner(context)):
                node_embedding_refresh(node=node)
    finally:
        connection.close()


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="nodes_retry_after_outage")
def nodes_retry_after_outage_job(timestamp: int) -> None:
    """Analyse again the nodes that fell back while a provider was down, once it answers; hand to an editor the
    nodes left in analysis with no job to finish them (remix.recovery)."""
    try:
        nodes_stranded_release()
        nodes_retry_after_outage()
    finally:
        connection.close()


@app.periodic(cron="37 1 * * *")  # nightly, off the hour, before the morning's readers and editors
@app.task(queue="maintenance", queueing_lock="pregenerate_nightly")
def pregenerate_nightly(timestamp: int) -> None:
    """Nightly pre-generation (remix.pregenerate): briefs for analysed nodes without one, then the recipe cache of
    the most-read published recipes. Fails (visible in the admin, and alerted on when it keeps failing) when a brief
    could not be written; the cache is warmed either way."""
    try:
        briefs = briefs_pregenerate(nodes=nodes_needing_brief(limit=BRIEFS_PER_NIGHT))
        warmed = recipe_caches_warm()
        logger.info(
            "pregenerate_nightly",
            extra={
                "event": "pregenerate",
                "briefs_ai": briefs.ai,
                "briefs_rule_based": briefs.rule_based,
                "briefs_failed": len(briefs.failed),
                "recipes_warmed": warmed.warmed,
            },
        )
        if briefs.failed:
            raise RuntimeError(f"{len(briefs.failed)} brief(s) could not be written: " + "; ".join(briefs.failed[:5]))
    finally:
        connection.close()
