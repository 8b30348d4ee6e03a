"""operations.selectors.jobs_failed_in_a_row reads each scheduled task's latest finished runs every minute: an index
on (task, id) over finished jobs answers it without scanning procrastinate's jobs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("operations", "0002_editors_and_failure_index")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS operations_job_finished_runs ON procrastinate_jobs (task_name, id) "
            "WHERE status IN ('succeeded', 'failed')",
            "DROP INDEX IF EXISTS operations_job_finished_runs",
        ),
    ]
