"""Firebase sign-in for the data-rights tests: the accounts tests' emulator-mode fixtures."""

from tests.accounts.conftest import _fresh_firebase_app, firebase_emulator  # noqa: F401 - fixtures
