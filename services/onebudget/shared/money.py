"""Money is integer pence; splits across funders are exact (largest remainder).

No float ever touches an amount: a split of `total` pence by basis-point weights gives each part
its floor share, then hands the pence left over, one each, to the parts with the largest
remainders (ties to the earlier part, so the result is deterministic). The parts always sum to
`total`, each is within one penny of its exact share, and a zero weight always gets zero.
"""

from __future__ import annotations

from collections.abc import Sequence

BASIS_POINTS_WHOLE = 10_000
# The largest amount any API field or ledger transfer may carry: £10bn, so a million of them
# still fit a bigint balance (the ledger's AMOUNT_MAX is this bound).
PENCE_MAX = 1_000_000_000_000


class MoneyError(ValueError):
    """An amount or a weight that is not a valid integer of the right sign."""


def require_pence(amount: object, *, name: str = "amount") -> int:
    """`amount` as pence: an int (not bool, not float)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError(f"{name} must be integer pence, got {type(amount).__name__}")
    return amount


def pence_in_bounds(value: int, *, low: int = 1, high: int = PENCE_MAX) -> bool:
    """Whether `value` is whole pence in [low, high]; low is 0 or 1, high at most PENCE_MAX."""
    assert low in (0, 1)
    assert 0 < high <= PENCE_MAX
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` pence in proportion to non-negative integer `weights`, exactly."""
    require_pence(total, name="total")
    if total < 0:
        raise MoneyError("total must not be negative")
    if not weights:
        raise MoneyError("at least one weight is needed")
    for weight in weights:
        require_pence(weight, name="weight")
        if weight < 0:
            raise MoneyError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("weights must not all be zero")
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    # Largest remainder first; on a tie the earlier part wins (stable sort keeps index order).
    order = sorted(range(len(weights)), key=lambda i: -remainders[i])
    for i in order[:left]:
        floors[i] += 1
    assert sum(floors) == total
    return floors


def split_by_basis_points(total: int, basis_points: Sequence[int]) -> list[int]:
    """Split `total` pence by basis points that must sum to exactly 10,000."""
    if sum(basis_points) != BASIS_POINTS_WHOLE:
        got = sum(basis_points)
        raise MoneyError(f"basis points must sum to {BASIS_POINTS_WHOLE}, got {got}")
    return split_largest_remainder(total, basis_points)


def share_of(total: int, basis_points: int) -> int:
    """`basis_points`/10,000 of `total` pence, rounded half up to the penny.

    The one rounding rule for a single share (a target, a percentage of an allocation):
    floor((total * bp + 5,000) / 10,000). Stated here so every report can quote it.
    """
    require_pence(total, name="total")
    require_pence(basis_points, name="basis_points")
    if total < 0 or not 0 <= basis_points <= BASIS_POINTS_WHOLE:
        raise MoneyError("share_of needs total >= 0 and 0 <= basis_points <= 10,000")
    return (total * basis_points + BASIS_POINTS_WHOLE // 2) // BASIS_POINTS_WHOLE


def format_pence(amount: int) -> str:
    """`123456` -> `£1,234.56` (for people; APIs carry pence)."""
    sign = "-" if amount < 0 else ""
    pounds, pence = divmod(abs(amount), 100)
    return f"{sign}£{pounds:,}.{pence:02d}"
