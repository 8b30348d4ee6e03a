"""Settings for the pytest suite: the real stack, with test-only isolation.

The same PostgreSQL/PostGIS/pgvector server and Redis as development, but
pytest-django creates its own `test_<name>_<checkout>` database and cache keys live
under their own prefix, so a test run never touches development data, nor another
checkout's test run on the same server.
"""

import hashlib
import os

from kmeme.settings import *  # noqa: F403
from kmeme.settings import BASE_DIR, CACHES, DATABASES, REST_FRAMEWORK, THROTTLE_RATES

# Named after this checkout's path: two checkouts whose `make test` share one PostgreSQL (an external
# DATABASE_URL, say) each create, use and drop their own test database instead of the other's.
_CHECKOUT = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]
DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_{DATABASES['default']['NAME'][:40]}_{_CHECKOUT}"

# Per process, so two test runs on one Redis (a developer's and CI's) never clear each other's keys.
CACHES["default"]["KEY_PREFIX"] = f"kmeme-test-{os.getpid()}"
# The tests serve their videos on loopback; one test turns this off again to prove the guard.
MEDIA_ALLOW_PRIVATE_HOSTS = True
# Hashing passwords is deliberately slow; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The suite runs at the real rate limits, except for the scopes one test needs volume in: Schemathesis
# (tests/kmeme/test_api_contract.py) sends ~1000 requests with one token within a minute or two, many of them writes,
# forks and similar searches. THROTTLE_RATES keeps the real values; tests/kmeme/test_throttles.py and
# tests/remix/test_write_limits.py put them back to prove each limit. A new dict, so kmeme.settings keeps its own.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **THROTTLE_RATES,
        "user": "100000/minute",
        "write": "100000/minute",
        "fork": "100000/minute",
        "similar": "100000/minute",
    },
}

# The product speaks Korean by default (kmeme.settings.LANGUAGE_CODE = "ko"). Most of the suite was written against
# the English source strings, so it runs with English as the default; tests/kmeme/test_i18n.py switches the real
# default back on and proves the Korean side: the catalogue covers every project string, the admin, its messages and
# the API's error messages come in Korean with no Accept-Language, and the browser test works a review in Korean.
LANGUAGE_CODE = "en"
