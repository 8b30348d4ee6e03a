"""The WSGI application every server runs (kmeme.wsgi) survives a charset Django's request constructor cannot:
a bytes-to-bytes codec such as bz2_codec with a query string. Beside it, Django's bare application, which fails."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.wsgi import get_wsgi_application

from kmeme.wsgi import application
from kmeme.wsgi_guard import charset_is_text, environ_sanitize

pytestmark = pytest.mark.django_db(transaction=True)


def _environ(content_type: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/nodes",
        "QUERY_STRING": "page=1",
        "CONTENT_TYPE": content_type,
        "SERVER_NAME": "localhost",
        "HTTP_HOST": "localhost",
        "wsgi.input": io.BytesIO(b""),
    }
    setup_testing_defaults(environ)
    return environ


def _call(app, environ) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    return seen["status"], body


@pytest.mark.parametrize("charset", ["bz2_codec", "zlib_codec", "hex_codec", '"base64_codec"'])
def test_a_bytes_codec_charset_is_dropped_and_the_request_answered(charset):
    status, body = _call(application, _environ(f"application/json; charset={charset}"))
    assert status.startswith("200") and "results" in json.loads(body)


def test_without_the_guard_django_fails_before_any_handler():
    with pytest.raises(LookupError, match="not a text encoding"):
        _call(get_wsgi_application(), _environ("application/json; charset=bz2_codec"))


def test_text_charsets_are_kept():
    assert (
        environ_sanitize({"CONTENT_TYPE": "text/plain; charset=UTF-16"})["CONTENT_TYPE"] == "text/plain; charset=UTF-16"
    )
    assert environ_sanitize({"CONTENT_TYPE": "video/mp4; charset=bz2_codec"})["CONTENT_TYPE"] == "video/mp4"
    assert charset_is_text("utf-8") and not charset_is_text("rot13") and not charset_is_text("no-such-codec")
