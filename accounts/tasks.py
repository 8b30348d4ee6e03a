"""Background jobs of the accounts app."""

from __future__ import annotations

import logging

from django.db import connection
from procrastinate.contrib.django import app

from accounts.uploads import uploads_prune

logger = logging.getLogger(__name__)


@app.periodic(cron="29 4 * * *")  # nightly, off the hour
@app.task(queue="maintenance", queueing_lock="uploads_prune")
def uploads_prune_nightly(timestamp: int) -> None:
    """Delete uploads never completed and files sent late to a forgotten user's prefix (accounts.uploads)."""
    try:
        pruned = uploads_prune()
        logger.info(
            "uploads pruned",
            extra={"abandoned": pruned.abandoned, "forgotten_swept": pruned.forgotten_swept},
        )
    finally:
        connection.close()
