"""The Mutation model moves to remix (see remix 0007): state only, the table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("genealogy", "0001_initial"),
        ("remix", "0006_public_list_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Mutation")]),
    ]
