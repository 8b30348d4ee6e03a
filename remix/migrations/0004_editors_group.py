"""The Editors group: exactly what an editor needs in the review console, nothing about users or groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = {
    "remix": [
        "view_remixnode",
        "change_remixnode",
        "review_remixnode",
        "view_remixbrief",
        "view_videoanalysis",
        "view_aicall",
    ],
    "genealogy": ["view_mutation", "view_nodeperformancesnapshot"],
    "campaigns": ["view_brand", "view_campaign", "view_campaignlocation", "view_participation", "change_participation"],
    "accounts": ["view_auditlog"],
    "procrastinate": ["view_procrastinatejob", "view_procrastinateevent"],
}


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("accounts", "User")
    editors, _ = Group.objects.get_or_create(name="Editors")
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codenames in EDITOR_PERMISSIONS.items()
        for codename in codenames
    ]
    editors.permissions.set(permissions)
    for user in User.objects.filter(role="editor"):
        user.groups.add(editors)


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("remix", "0003_review_permission"),
        ("accounts", "0002_auditlog_append_only"),
        ("genealogy", "0001_initial"),
        ("campaigns", "0001_initial"),
        ("procrastinate", "0041_post_retry_failed_job"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
