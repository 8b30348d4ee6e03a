"""Settings for the pytest suite: the real stack, with test-only isolation.

The same PostgreSQL/PostGIS/pgvector server and Redis as development, but
pytest-django creates its own `test_<name>` database and cache keys live under
their own prefix, so a test run never touches development data.
"""

from kmeme.settings import *  # noqa: F403
from kmeme.settings import CACHES

CACHES["default"]["KEY_PREFIX"] = "kmeme-test"
# Hashing passwords is deliberately slow; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
