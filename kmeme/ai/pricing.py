from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

_MTOK = Decimal(1_000_000)
_MICRO = Decimal("0.000001")


def call_cost(*, model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """USD price of one call from its token usage and the settings' price table (per million tokens)."""
    price_in, price_out = settings.AI_PRICES[model]
    cost = (Decimal(str(price_in)) * input_tokens + Decimal(str(price_out)) * output_tokens) / _MTOK
    return cost.quantize(_MICRO, rounding=ROUND_HALF_UP)
