"""`manage.py worker`: the job worker that outlives database and Redis restarts (kmeme.worker)."""

import asyncio

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from kmeme.worker import WorkerRunner


class Command(BaseCommand):
    help = (
        "Run the background-job worker. It starts itself again (with a backoff) whenever procrastinate's worker "
        "stops on a database error; SIGTERM or Ctrl-C stops it once the running job has finished, a second one at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "-q",
            "--queues",
            default="",
            help="Comma-separated queues to work on (default: all), e.g. pipeline,maintenance.",
        )
        parser.add_argument("--name", default="worker", help="The worker's name in the logs.")
        parser.add_argument(
            "--concurrency", type=int, default=1, help="Jobs run at once (sync jobs each take a thread)."
        )

    def handle(self, *args, queues: str, name: str, concurrency: int, **options) -> None:
        connector = app.connector
        if not isinstance(connector, DjangoConnector):
            raise CommandError(
                _("The procrastinate app has an unexpected connector (%(connector)s).")
                % {"connector": f"{connector!r}"}
            )
        if concurrency < 1:
            raise CommandError(_("--concurrency must be at least 1."))
        worker_options = {
            "queues": [q.strip() for q in queues.split(",") if q.strip()] or None,
            "name": name,
            "concurrency": concurrency,
        }
        runner = WorkerRunner(app=app, connector_factory=connector.get_worker_connector, worker_options=worker_options)
        asyncio.run(runner.run())
        self.stdout.write(_("Worker stopped (%(restarts)s restart(s) after errors).") % {"restarts": runner.restarts})
