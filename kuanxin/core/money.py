"""Money is Decimal, rounded half-up to the cent, everywhere."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | str | int) -> Decimal:
    """Exact conversion to a cent-rounded Decimal; floats are refused because they are not exact."""
    if type(value) is Decimal and value.is_finite():  # the common case, without a copy (hot in classifying)
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def yuan(amount: Decimal) -> str:
    """Display form used in replies: thousands separators and two decimals, e.g. 12,345.60元."""
    return f"{to_money(amount):,.2f}元"
