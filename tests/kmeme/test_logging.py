import gzip
import json
import logging

import pytest
import sentry_sdk
from rest_framework.test import APIClient

from accounts.models import Role
from kmeme.logging import JsonFormatter, PersonalDataFilter, RequestIdFilter, sentry_before_send
from tests.accounts.factories import UserFactory
from tests.doubles.server import HttpDouble
from tests.doubles.server import json as json_reply
from tests.remix.factories import published_master


def test_log_lines_are_json_with_the_request_id_and_extra_fields(client, caplog):
    record = logging.makeLogRecord(
        {"name": "kmeme.test", "levelname": "INFO", "msg": "node %s published", "args": ("42",), "node_id": 42}
    )
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "node 42 published"
    assert line["node_id"] == 42
    assert line["request_id"] == "-"  # outside a request
    assert line["level"] == "INFO" and line["logger"] == "kmeme.test"


def _emit(logger_name: str, msg: str, *args: object, **extra: object) -> str:
    """One record through the console handler's filters and the JSON formatter, as production prints it."""
    record = logging.makeLogRecord({"name": logger_name, "levelname": "WARNING", "msg": msg, "args": args, **extra})
    for kind in (RequestIdFilter, PersonalDataFilter):
        kind().filter(record)
    return JsonFormatter().format(record)


def test_no_email_or_phone_number_reaches_a_log_line_whoever_logs_it():
    line = _emit("axes.watch_login", "AXES: Locked out %s after %d attempts", "Kwon.Mina+k@example.co.kr", 5)
    assert "example.co.kr" not in line and "[redacted]" in line and "after 5 attempts" in line
    extra = _emit("kmeme.test", "submitted", contact={"phone": "010-9876-5432", "who": ["a.b@c.io"]}, node_id=7)
    assert "9876" not in extra and "a.b@c.io" not in extra and json.loads(extra)["node_id"] == 7
    # Ids, timestamps, UUIDs, addresses and durations are left alone.
    plain = "node 7311111111111111111 at 2026-11-22 11:52:51 took 1234 ms from 127.0.0.1 (0b9e6c1d-2f3a-4b5c-8d7e)"
    assert json.loads(_emit("kmeme.test", plain))["message"] == plain


def test_the_console_handler_redacts(settings):
    assert "personal_data" in settings.LOGGING["handlers"]["console"]["filters"]


def test_sentry_events_carry_no_email_or_phone():
    """The real SDK, its DSN on a loopback double: what it sends for an exception quoting an address."""
    with HttpDouble("sentry") as double:
        double.route("store", "POST", r"/api/1/(envelope|store)/", lambda req, m: json_reply(200, {}))
        host = double.base_url.removeprefix("http://")
        client = sentry_sdk.Client(dsn=f"http://public@{host}/1", before_send=sentry_before_send)
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            address, phone = "kwon.mina@example.com", "010-9876-5432"
            try:
                raise ValueError(f"no account for {address} ({phone})")
            except ValueError:
                assert sentry_sdk.capture_exception()
        client.flush(timeout=5)
        client.close()
        bodies = b"".join(
            gzip.decompress(r.body) if r.headers.get("content-encoding") == "gzip" else r.body for r in double.requests
        )
    assert bodies and b"ValueError" in bodies and b"no account for" in bodies
    assert b"example.com" not in bodies and b"9876" not in bodies


@pytest.mark.django_db
def test_api_requests_errors_and_cache_use_are_logged_as_events(caplog):
    user = UserFactory(role=Role.CREATOR, email="events.person@example.com")
    node = published_master("Logged latte")
    client = APIClient()
    client.force_authenticate(user)
    with caplog.at_level(logging.INFO):
        first = client.get(f"/api/v1/nodes/{node.public_id}")
        client.get(f"/api/v1/nodes/{node.public_id}")
        missing = client.get("/api/v1/nodes/00000000-0000-0000-0000-000000000000")
    events = [r for r in caplog.records if getattr(r, "event", None)]
    requests = [r for r in events if r.event == "api_request"]
    assert [(r.method, r.route, r.status, r.user_id) for r in requests] == [
        ("GET", "/api/v1/nodes/<uuid:node_id>", 200, user.pk),
        ("GET", "/api/v1/nodes/<uuid:node_id>", 200, user.pk),
        ("GET", "/api/v1/nodes/<uuid:node_id>", 404, user.pk),
    ]
    assert all(r.duration_ms >= 0 and r.request_id not in (None, "-") for r in requests)
    assert requests[0].request_id == first["X-Request-ID"] and requests[2].request_id == missing["X-Request-ID"]
    assert [(r.event, r.cache) for r in events if r.event.startswith("cache_")] == [
        ("cache_miss", "recipe"),
        ("cache_hit", "recipe"),
    ]
    errors = [r for r in events if r.event == "error"]
    assert [(r.code, r.status) for r in errors] == [("not_found", 404)]
    assert "events.person@example.com" not in caplog.text
