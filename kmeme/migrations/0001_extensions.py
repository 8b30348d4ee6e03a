"""The database extensions every app relies on: PostGIS (GeoDjango) and pgvector."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [CreateExtension("postgis"), CreateExtension("vector")]
