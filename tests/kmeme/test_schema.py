from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"), stdout=StringIO()
    )
    schema = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/me:" in schema and "Error" in schema


def test_docs_and_schema_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert "swagger" in client.get("/api/docs/").content.decode().lower()
