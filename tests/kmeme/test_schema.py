from io import StringIO

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Role
from campaigns.services import brand_create
from tests.accounts.factories import UserFactory
from tests.campaigns.factories import CampaignFactory

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


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path_, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path_, method, operation


def _resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def test_every_request_body_refuses_unknown_fields_as_the_server_does(schema):
    bodies = [
        (f"{method.upper()} {path_} {media_type}", _resolve(schema, content["schema"]))
        for path_, method, operation in _operations(schema)
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items()
    ]
    assert len({name.split(" ")[1] for name, _ in bodies}) >= 6  # analyses, forks, publish, auth, …: not vacuous
    assert [name for name, body in bodies if body.get("additionalProperties") is not False] == []


def test_every_error_response_is_the_json_error_shape(schema):
    errors = [
        (f"{method.upper()} {path_} {status}", response)
        for path_, method, operation in _operations(schema)
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    ]
    assert errors
    for name, response in errors:
        assert set(response["content"]) == {"application/json"}, name
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name


def test_page_zero_is_answered_as_the_schema_documents(schema, client):
    lists = [
        (path_, operation)
        for path_, method, operation in _operations(schema)
        if any(p["name"] == "page" for p in operation.get("parameters", []))
    ]
    assert lists
    member = UserFactory(role=Role.BRAND)  # signed in, and of a brand with a campaign: every list answers
    campaign = CampaignFactory(brand=brand_create(name="Listed", owner=member))
    client.force_login(member)
    for path_, operation in lists:
        page = next(p for p in operation["parameters"] if p["name"] == "page")
        assert page["schema"]["minimum"] == 1 and "invalid_page" in page["description"]
        assert "invalid_page" in operation["responses"]["404"]["description"]

        response = client.get(path_.replace("{campaign_id}", str(campaign.pk)), {"page": 0})

        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "invalid_page"
