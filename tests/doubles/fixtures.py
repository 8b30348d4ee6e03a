"""Pytest plugin with the provider-double fixtures.

Any test folder can use them once the root conftest lists this module::

    pytest_plugins = ["tests.doubles.fixtures"]

`gemini_double` / `anthropic_double` are running loopback servers (one per test); `gemini_client` /
`anthropic_client` are the real SDK clients pointed at them (no SDK-level retries, 5 s timeouts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.doubles.anthropic import AnthropicDouble
from tests.doubles.gemini import GeminiDouble

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _bypass_proxies_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours *_PROXY variables; make sure loopback traffic to the doubles never goes through a proxy."""
    if not any(os.environ.get(name) for name in _PROXY_VARS):
        return
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))


@pytest.fixture
def gemini_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiDouble]:
    _bypass_proxies_for_loopback(monkeypatch)
    with GeminiDouble() as double:
        yield double


@pytest.fixture
def anthropic_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicDouble]:
    _bypass_proxies_for_loopback(monkeypatch)
    with AnthropicDouble() as double:
        yield double


@pytest.fixture
def gemini_client(gemini_double: GeminiDouble) -> Iterator[Any]:
    """A real google.genai.Client on the double (api_version v1beta, timeout 5 s, single attempt)."""
    client = gemini_double.client()
    yield client
    client.close()


@pytest.fixture
def anthropic_client(anthropic_double: AnthropicDouble) -> Iterator[Any]:
    """A real anthropic.Anthropic on the double (max_retries=0, timeout 5 s)."""
    client = anthropic_double.client()
    yield client
    client.close()


def providers_on_doubles(settings: Any, gemini: GeminiDouble, anthropic: AnthropicDouble, **overrides: Any) -> None:
    """Switch both AI providers on, pointed at their doubles, retrying without waiting, under a $100 cap;
    `overrides` (setting name → value) adjust the rest for a test."""
    settings.GEMINI_API_KEY = "test-gemini-key"
    settings.ANTHROPIC_API_KEY = "test-anthropic-key"
    settings.GEMINI_BASE_URL = gemini.base_url
    settings.ANTHROPIC_BASE_URL = anthropic.base_url
    settings.AI_RETRY_WAIT_MIN_S = settings.AI_RETRY_WAIT_MAX_S = 0
    settings.LLM_MONTHLY_CAP = 100
    for name, value in overrides.items():
        setattr(settings, name, value)
