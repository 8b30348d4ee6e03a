"""Fixtures for tests/doubles. Other folders get the same fixtures through `pytest_plugins` in tests/conftest.py."""

from tests.doubles.fixtures import anthropic_client, anthropic_double, gemini_client, gemini_double

__all__ = ["anthropic_client", "anthropic_double", "gemini_client", "gemini_double"]
