from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The length of every search embedding (the vector column's size; Gemini is asked for this many dimensions).
EMBEDDING_DIMENSIONS = 768


@dataclass(frozen=True)
class ProviderResult:
    """One successful provider call, validated, with its usage and price."""

    provider: str
    model: str
    content: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    latency_ms: int
    prompt_version: str = ""
    cached: bool = False


class ProviderUnavailable(Exception):
    """The provider's answer cannot be had now; the caller takes the fallback path.

    `code` says why, for the editor and for metrics: not_configured, budget_exceeded,
    circuit_open, provider_error, invalid_output.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
