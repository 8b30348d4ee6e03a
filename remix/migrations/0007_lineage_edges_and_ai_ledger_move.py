"""The lineage edges move from genealogy to remix, and the AI call ledger from remix to kmeme.ai.

Edges are the one record of who was remixed from whom: the `parent` column is dropped once every fork's
parent is an edge (it always was, through node_fork; the copy below is a safety net). Both moves keep their
tables and rows: only Django's state moves, then the tables are renamed after their new app. The content
types move too, so permissions, the Editors group and the admin's history keep pointing at the same rows.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_parents_to_edges(apps, schema_editor):
    RemixNode = apps.get_model("remix", "RemixNode")
    Mutation = apps.get_model("remix", "Mutation")
    for node in RemixNode.objects.filter(parent__isnull=False).exclude(parent_mutations__parent=models.F("parent")):
        Mutation.objects.create(
            parent_id=node.parent_id,
            child=node,
            mutation_types=["format_change"],
            profile={"migrated": "from the former parent column; the mutation types were not recorded"},
        )


def move_content_type(apps, schema_editor, old_app, new_app, model):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new_app, model=model).exists():
        ContentType.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


def forwards_content_type(apps, schema_editor):
    move_content_type(apps, schema_editor, "genealogy", "remix", "mutation")


def backwards_content_type(apps, schema_editor):
    move_content_type(apps, schema_editor, "remix", "genealogy", "mutation")


class Migration(migrations.Migration):
    dependencies = [
        ("remix", "0006_public_list_index"),
        ("genealogy", "0002_mutation_moves_to_remix"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Mutation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "mutation_types",
                            django.contrib.postgres.fields.ArrayField(
                                base_field=models.CharField(
                                    choices=[
                                        ("audio_swap", "Audio swap"),
                                        ("localization", "Localization"),
                                        ("format_change", "Format change"),
                                        ("product_swap", "Product swap"),
                                        ("caption_change", "Caption change"),
                                        ("setting_change", "Setting change"),
                                        ("character_change", "Character change"),
                                    ],
                                    max_length=32,
                                ),
                                size=7,
                            ),
                        ),
                        (
                            "profile",
                            models.JSONField(blank=True, default=dict, help_text="Free-form details of what changed."),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "child",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="parent_mutations",
                                to="remix.remixnode",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "parent",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="child_mutations",
                                to="remix.remixnode",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "genealogy_mutation",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["child"], name="mutation_child")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("parent", "child"),
                                name="mutation_one_edge_per_pair",
                                violation_error_message="These two nodes are already linked.",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("parent", models.F("child")), _negated=True),
                                name="mutation_no_self_loop",
                                violation_error_code="mutation_self_loop",
                                violation_error_message="A node cannot be its own parent.",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("mutation_types__len__gt", 0),
                                    (
                                        "mutation_types__contained_by",
                                        [
                                            "audio_swap",
                                            "localization",
                                            "format_change",
                                            "product_swap",
                                            "caption_change",
                                            "setting_change",
                                            "character_change",
                                        ],
                                    ),
                                ),
                                name="mutation_types_known_nonempty",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="mutation", table=None),
        migrations.RunPython(copy_parents_to_edges, migrations.RunPython.noop),
        migrations.RunPython(forwards_content_type, backwards_content_type),
        migrations.RemoveConstraint(model_name="remixnode", name="node_fork_has_parent"),
        migrations.RemoveConstraint(model_name="remixnode", name="node_not_own_parent"),
        migrations.RemoveField(model_name="remixnode", name="parent"),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AICall")]),
    ]
