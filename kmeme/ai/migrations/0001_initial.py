"""The AI call ledger moves here from remix: infrastructure sits below the apps (see remix 0007).

State only, then the table is renamed after this app; its rows, and the content type (so permissions and the
Editors group's view access), stay.
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, old_app, new_app):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new_app, model="aicall").exists():
        ContentType.objects.filter(app_label=old_app, model="aicall").update(app_label=new_app)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("remix", "0007_lineage_edges_and_ai_ledger_move"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AICall",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "provider",
                            models.CharField(
                                choices=[("gemini", "Google Gemini"), ("anthropic", "Anthropic Claude")], max_length=16
                            ),
                        ),
                        ("model", models.CharField(max_length=64)),
                        (
                            "purpose",
                            models.CharField(
                                choices=[
                                    ("analysis", "Video analysis"),
                                    ("brief", "Remix brief"),
                                    ("embedding", "Embedding"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("input_tokens", models.PositiveIntegerField(default=0)),
                        ("output_tokens", models.PositiveIntegerField(default=0)),
                        ("cost_usd", models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=12)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("reserved", "Reserved (in flight)"),
                                    ("ok", "OK"),
                                    ("error", "Error"),
                                    ("refused_budget", "Refused: over budget"),
                                ],
                                db_index=True,
                                max_length=16,
                            ),
                        ),
                        ("latency_ms", models.PositiveIntegerField(blank=True, null=True)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "node",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="ai_calls",
                                to="remix.remixnode",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "remix_aicall",
                        "verbose_name": "AI call",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["provider", "model", "created_at"], name="aicall_provider_month")
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("cost_usd__gte", 0)), name="aicall_cost_not_negative"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="aicall", table=None),
        migrations.RunPython(
            lambda apps, schema_editor: move_content_type(apps, "remix", "ai"),
            lambda apps, schema_editor: move_content_type(apps, "ai", "remix"),
        ),
    ]
