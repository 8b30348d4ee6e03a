"""Liveness (`/health`) and readiness (`/ready`) probes.

`/health` answers as long as the process serves requests; `/ready` answers 200
only when PostgreSQL (with the postgis and vector extensions) and Redis answer,
and 503 naming what failed otherwise. Both are public and uncached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_redis import get_redis_connection

from kmeme.ai.circuit import circuit_state

REQUIRED_EXTENSIONS = ("postgis", "vector")


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extname, extversion FROM pg_extension WHERE extname = ANY(%s)", [list(REQUIRED_EXTENSIONS)]
        )
        found = dict(cursor.fetchall())
    missing = [name for name in REQUIRED_EXTENSIONS if name not in found]
    if missing:
        return {"ok": False, "error": f"missing extensions: {', '.join(missing)}", "extensions": found}
    return {"ok": True, "extensions": found}


def _check_redis() -> dict[str, Any]:
    get_redis_connection("default").ping()
    return {"ok": True}


def _providers() -> dict[str, Any]:
    configured = {"gemini": bool(settings.GEMINI_API_KEY), "anthropic": bool(settings.ANTHROPIC_API_KEY)}
    return {name: {"configured": on, "circuit": circuit_state(provider=name)} for name, on in configured.items()}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {"database": _check_database, "redis": _check_redis}


def _run(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a probe reports every failure instead of raising it
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {name: _run(check) for name, check in CHECKS.items()}
    failing = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ready" if not failing else "unavailable", "failing": failing, "checks": checks}
    if not failing:
        # Informational: an open circuit means analyses fall back to manual review; the site itself is ready.
        body["providers"] = _providers()
    return JsonResponse(body, status=503 if failing else 200)
