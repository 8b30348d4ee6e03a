"""Editors may read the alerts; and the failed-job-runs query (operations.selectors.job_failures, every scrape and
every minute's evaluation) gets an index instead of scanning procrastinate's events."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = ["view_alertstate", "view_alertevent"]


def grant_editors(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions are normally created after all migrations
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.add(
        *Permission.objects.filter(content_type__app_label="operations", codename__in=EDITOR_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0001_initial"),
        ("procrastinate", "0041_post_retry_failed_job"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(grant_editors, migrations.RunPython.noop),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS operations_job_failure_events ON procrastinate_events (at) "
            "WHERE type IN ('failed', 'deferred_for_retry')",
            "DROP INDEX IF EXISTS operations_job_failure_events",
        ),
    ]
