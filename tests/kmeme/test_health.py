import pytest
from django.test import override_settings

from kmeme.settings import CACHES

pytestmark = pytest.mark.django_db


def test_health_answers_while_the_process_is_alive(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_is_200_with_database_extensions_and_redis(client):
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]["database"]["extensions"]) == {"postgis", "vector"}
    assert body["checks"]["redis"]["ok"] is True


def test_ready_is_503_naming_redis_when_redis_is_unreachable(client):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    broken = {"default": {**CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=broken):
        response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failing"] == ["redis"]
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_ready_is_503_naming_the_database_when_an_extension_is_missing(client, monkeypatch):
    monkeypatch.setattr("kmeme.health.REQUIRED_EXTENSIONS", ("postgis", "vector", "no_such_extension"))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert "no_such_extension" in response.json()["checks"]["database"]["error"]
