"""The schema: migrations, extensions, and that the models match the migrations."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db


def test_both_extensions_are_installed_by_migrations():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname IN ('postgis', 'vector') ORDER BY extname")
        assert [row[0] for row in cursor.fetchall()] == ["postgis", "vector"]


def test_every_migration_is_applied_to_the_fresh_test_database():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits non-zero on drift
    assert "No changes detected" in out.getvalue()


def test_embedding_column_has_an_hnsw_cosine_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'node_embedding_hnsw'")
        (indexdef,) = cursor.fetchone()
    assert "USING hnsw" in indexdef and "vector_cosine_ops" in indexdef


def test_campaign_location_points_are_geography_with_a_spatial_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, srid FROM geography_columns WHERE f_table_name = 'campaigns_campaignlocation'")
        assert cursor.fetchone() == ("Point", 4326)
        cursor.execute(
            "SELECT indexdef FROM pg_indexes"
            " WHERE tablename = 'campaigns_campaignlocation' AND indexdef LIKE '%%gist%%'"
        )
        assert cursor.fetchone() is not None
