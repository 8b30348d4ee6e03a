"""The audit log keeps no personal data: personal values and IPs move to a deletable side table.

Existing rows are rewritten once, here, with the append-only trigger paused inside this migration's transaction:
their personal detail values (emails, names, Firebase uids, …) and IPs move to `accounts_auditpersonal`, and a
target named by a person's name or email is renamed "<model> #<id>". The trigger is back before the migration ends.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PERSONAL = "PERSONAL"
PERSONAL_KEYS = frozenset(
    {
        "email",
        "username",
        "display_name",
        "first_name",
        "last_name",
        "firebase_uid",
        "ip",
        "phone",
        "claimed_position",
        "user_agent",
    }
)
# Targets whose string form named a person (a user's name or email, "<creator> in <campaign>", …).
PERSON_NAMED_TARGETS = {
    "accounts.user": "user",
    "accounts.consent": "consent",
    "campaigns.participation": "participation",
    "campaigns.brandmembership": "brand membership",
}


def _split(details):
    # A copy of accounts.audit.personal_split as it was when this migration was written.
    if isinstance(details, dict):
        public, personal = {}, {}
        for key, value in details.items():
            if key in PERSONAL_KEYS and value not in (None, "", [], {}):
                public[key] = PERSONAL
                personal[key] = value
                continue
            kept, private = _split(value)
            public[key] = kept
            if private is not None:
                personal[key] = private
        return public, (personal or None)
    if isinstance(details, list):
        pairs = [_split(item) for item in details]
        private_items = [private for _, private in pairs]
        return [kept for kept, _ in pairs], (private_items if any(p is not None for p in private_items) else None)
    return details, None


def move_personal_data(apps, schema_editor):
    AuditLog = apps.get_model("accounts", "AuditLog")
    AuditPersonal = apps.get_model("accounts", "AuditPersonal")
    User = apps.get_model("accounts", "User")
    schema_editor.execute("ALTER TABLE accounts_auditlog DISABLE TRIGGER accounts_auditlog_append_only")
    for entry in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        public, personal = _split(entry.details or {})
        changed = public != entry.details
        if entry.target_type in PERSON_NAMED_TARGETS:
            entry.target_repr = f"{PERSON_NAMED_TARGETS[entry.target_type]} #{entry.target_id}"
            changed = True
        if personal is not None or entry.ip:
            subject_id = entry.actor_id
            if entry.target_type == "accounts.user" and entry.target_id.isdigit():
                subject_id = int(entry.target_id) if User.objects.filter(pk=int(entry.target_id)).exists() else None
            AuditPersonal.objects.create(entry_id=entry.pk, subject_id=subject_id, ip=entry.ip, details=personal or {})
        if changed:
            entry.details = public
            entry.save(update_fields=["details", "target_repr"])
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks left before altering the table again
    schema_editor.execute("ALTER TABLE accounts_auditlog ENABLE TRIGGER accounts_auditlog_append_only")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_auditlog_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditPersonal",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="personal",
                        serialize=False,
                        to="accounts.auditlog",
                    ),
                ),
                ("ip", models.GenericIPAddressField(blank=True, null=True)),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "subject",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "audit record's personal details",
                "verbose_name_plural": "audit records' personal details",
            },
        ),
        migrations.RunPython(move_personal_data, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="auditlog", name="ip"),
        migrations.AlterField(
            model_name="auditlog",
            name="details",
            field=models.JSONField(
                blank=True, default=dict, help_text="Personal values read PERSONAL; see the side row."
            ),
        ),
    ]
