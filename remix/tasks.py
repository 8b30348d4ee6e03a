"""Background jobs of the remix app."""

from __future__ import annotations

from django.db import connection
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from remix.embeddings import node_embedding_refresh, nodes_for_embedding
from remix.models import RemixNode
from remix.pipeline import brief_regenerate_run, pipeline_run
from remix.recovery import nodes_retry_after_outage


@app.task(queue="pipeline", retry=RetryStrategy(max_attempts=4, exponential_wait=5))
def node_analyze(node_id: int) -> None:
    """Fetch, probe, analyse and brief one node (remix.pipeline.pipeline_run). Safe to run again."""
    try:
        pipeline_run(node_id=node_id)
    except Exception as exc:
        # Visible in the admin until a later attempt succeeds; the job's own record keeps the traceback.
        RemixNode.objects.filter(pk=node_id).update(pipeline_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        # The worker runs sync jobs in a thread pool; don't leave this thread's connection open between jobs.
        connection.close()


@app.task(queue="pipeline", retry=RetryStrategy(max_attempts=4, exponential_wait=5))
def brief_regenerate(node_id: int, notes: str = "") -> None:
    """Write a new brief version for a node an editor sent back (remix.pipeline.brief_regenerate_run)."""
    try:
        brief_regenerate_run(node_id=node_id, notes=notes)
    except Exception as exc:
        RemixNode.objects.filter(pk=node_id).update(pipeline_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        connection.close()


@app.task(queue="pipeline", retry=RetryStrategy(max_attempts=5, exponential_wait=30))
def node_embed(node_id: int) -> None:
    """Compute a published node's Gemini embedding (retried while Gemini is unavailable)."""
    try:
        node = nodes_for_embedding().filter(pk=node_id).first()
        if node is not None:
            node_embedding_refresh(node=node)
    finally:
        connection.close()


@app.periodic(cron="* * * * *")
@app.task(queue="maintenance", queueing_lock="nodes_retry_after_outage")
def nodes_retry_after_outage_job(timestamp: int) -> None:
    """Analyse again the nodes that fell back while a provider was down, once it answers (remix.recovery)."""
    try:
        nodes_retry_after_outage()
    finally:
        connection.close()
