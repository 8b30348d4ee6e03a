"""Background jobs share Django's connection: a job exists if and only if its transaction committed."""

import pytest
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from kmeme.tasks import jobs_prune


@pytest.fixture(autouse=True)
def _empty_job_queue(django_db_blocker):
    # procrastinate's tables are not Django-managed, so test teardown does not empty them.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")


@pytest.mark.django_db(transaction=True)
def test_a_job_deferred_in_a_rolled_back_transaction_does_not_exist():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        jobs_prune.defer(timestamp=1)
        assert ProcrastinateJob.objects.filter(task_name="kmeme.tasks.jobs_prune").count() == 1
        raise Boom
    assert not ProcrastinateJob.objects.filter(task_name="kmeme.tasks.jobs_prune").exists()


@pytest.mark.django_db(transaction=True)
def test_a_job_deferred_in_a_committed_transaction_is_queued_once():
    with transaction.atomic():
        jobs_prune.defer(timestamp=2)
    job = ProcrastinateJob.objects.get(task_name="kmeme.tasks.jobs_prune")
    assert (job.status, job.queue_name) == ("todo", "maintenance")


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_job_to_completion():
    from procrastinate.contrib.django import app

    jobs_prune.defer(timestamp=3)
    # The same connector `manage.py procrastinate worker` uses: its own psycopg pool on Django's database.
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(queues=["maintenance"], wait=False, install_signal_handlers=False, listen_notify=False)
    job = ProcrastinateJob.objects.get(task_name="kmeme.tasks.jobs_prune")
    assert job.status == "succeeded"


def test_every_scheduled_job_is_listed_in_the_readme_with_its_cadence():
    """Operators read the README's table to know what runs when: no periodic task may be missing from it."""
    from pathlib import Path

    from django.conf import settings
    from procrastinate.contrib.django import app as procrastinate_app

    table = (Path(settings.BASE_DIR) / "README.md").read_text().split("## Scheduled jobs", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("`")[1]: line for line in table.splitlines() if line.startswith("| `")}
    scheduled = {p.task.name for p in procrastinate_app.periodic_registry.periodic_tasks.values()}
    assert scheduled - set(rows) == set(), "scheduled jobs missing from the README's table"
    assert set(rows) - scheduled == set(), "README lists jobs that are not scheduled"
