"""Snapshots become real: counts a platform hides are NULL (not 0), comments are counted, each row says where it
came from (rows from before say `unknown`) and who imported it; the collector's per-node tracking row; editors may
import CSVs of counts and see the tracking rows."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

NEW_EDITOR_PERMISSIONS = ["import_nodeperformancesnapshot", "view_nodeperformancetracking"]


def grant_editors(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions are normally created after all migrations
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.add(
        *Permission.objects.filter(content_type__app_label="genealogy", codename__in=NEW_EDITOR_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("genealogy", "0002_mutation_moves_to_remix"),
        ("remix", "0010_posted_url"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="NodePerformanceTracking",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_attempt_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                ("last_success_at", models.DateTimeField(blank=True, null=True)),
                ("last_url", models.URLField(blank=True, max_length=2048)),
                ("last_error_code", models.CharField(blank=True, max_length=32)),
                ("last_error", models.TextField(blank=True)),
                ("consecutive_failures", models.PositiveIntegerField(default=0)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "performance tracking",
                "verbose_name_plural": "performance tracking",
                "ordering": ["-last_attempt_at", "-id"],
            },
        ),
        migrations.AlterModelOptions(
            name="nodeperformancesnapshot",
            options={
                "get_latest_by": "captured_at",
                "ordering": ["node", "-captured_at"],
                "permissions": [("import_nodeperformancesnapshot", "Can import performance snapshots from a CSV file")],
            },
        ),
        migrations.AddField(
            model_name="nodeperformancesnapshot",
            name="comments",
            field=models.PositiveBigIntegerField(
                blank=True, help_text="Empty: the platform does not show it.", null=True
            ),
        ),
        migrations.AddField(
            model_name="nodeperformancesnapshot",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="nodeperformancesnapshot",
            name="imported_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="nodeperformancesnapshot",
            name="source",
            field=models.CharField(
                choices=[
                    ("ytdlp", "Read from the platform (yt-dlp)"),
                    ("csv_import", "CSV import"),
                    ("demo", "Demo data"),
                    ("unknown", "Recorded before sources were kept"),
                ],
                default="unknown",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="nodeperformancesnapshot",
            name="source",
            field=models.CharField(
                choices=[
                    ("ytdlp", "Read from the platform (yt-dlp)"),
                    ("csv_import", "CSV import"),
                    ("demo", "Demo data"),
                    ("unknown", "Recorded before sources were kept"),
                ],
                default="ytdlp",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="nodeperformancesnapshot",
            name="source_url",
            field=models.URLField(blank=True, help_text="The video page the counters were read from.", max_length=2048),
        ),
        migrations.AlterField(
            model_name="nodeperformancesnapshot",
            name="likes",
            field=models.PositiveBigIntegerField(
                blank=True, help_text="Empty: the platform does not show it.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="nodeperformancesnapshot",
            name="shares",
            field=models.PositiveBigIntegerField(
                blank=True, help_text="Empty: the platform does not show it.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="nodeperformancesnapshot",
            name="views",
            field=models.PositiveBigIntegerField(
                blank=True, help_text="Empty: the platform does not show it.", null=True
            ),
        ),
        migrations.AddConstraint(
            model_name="nodeperformancesnapshot",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("views__isnull", False),
                    ("likes__isnull", False),
                    ("comments__isnull", False),
                    ("shares__isnull", False),
                    _connector="OR",
                ),
                name="snapshot_has_a_count",
                violation_error_code="snapshot_empty",
                violation_error_message="A snapshot needs at least one count.",
            ),
        ),
        migrations.AddField(
            model_name="nodeperformancetracking",
            name="node",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="performance_tracking", to="remix.remixnode"
            ),
        ),
        migrations.RunPython(grant_editors, migrations.RunPython.noop),
    ]
