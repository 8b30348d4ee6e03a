"""What a client sees when a rate limit refuses it."""

from __future__ import annotations


def assert_throttled(response, *, scope: str, limit: str, longest_wait: int) -> int:
    """A 429 in the one error shape, naming the limit, whose Retry-After agrees with its details."""
    assert response.status_code == 429, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details", "request_id"}
    assert (error["status"], error["code"]) == (429, "throttled")
    assert error["request_id"] == response["X-Request-ID"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= longest_wait
    assert error["details"] == {"scope": scope, "limit": limit, "retry_after_seconds": retry_after}
    return retry_after
