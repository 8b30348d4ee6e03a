"""The one error type business rules raise (rendered by kmeme.errors, which re-exports it).

Apart from kmeme/errors.py because that imports `rest_framework.views`, whose APIView loads the configured parser and
throttle classes while it is being defined: those (kmeme/parsers.py, kmeme/throttles.py) raise this error, so it must
import without DRF's views.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status


class ApplicationError(Exception):
    """A business rule refused the operation. Raised by services; rendered as a 4xx."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_operation",
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.details = details
        self.retry_after = retry_after
