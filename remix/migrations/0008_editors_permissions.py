"""The Editors group after the ledger and lineage moves, and with the two ways in editors gained: submitting a
video URL from the admin (add node, through the same service as the API) and linking a second parent (add edge,
through the service that checks cycles). Frozen here; accounts.services.EDITOR_PERMISSIONS is the live copy."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = {
    "remix": [
        "view_remixnode",
        "add_remixnode",
        "change_remixnode",
        "review_remixnode",
        "view_remixbrief",
        "view_videoanalysis",
        "view_mutation",
        "add_mutation",
    ],
    "ai": ["view_aicall"],
    "genealogy": ["view_nodeperformancesnapshot"],
    "campaigns": ["view_brand", "view_campaign", "view_campaignlocation", "view_participation", "change_participation"],
    "accounts": ["view_auditlog"],
    "procrastinate": ["view_procrastinatejob", "view_procrastinateevent"],
}


def set_editor_permissions(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions are normally created after all migrations
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codenames in EDITOR_PERMISSIONS.items()
            for codename in codenames
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("remix", "0007_lineage_edges_and_ai_ledger_move"),
        ("ai", "0001_initial"),
        ("genealogy", "0002_mutation_moves_to_remix"),
        ("campaigns", "0001_initial"),
    ]
    operations = [migrations.RunPython(set_editor_permissions, migrations.RunPython.noop)]
