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
# The smallest amount an API's amount field takes (a payment, a reservation, a return, an
# allocation): 1p. The few fields where nothing is a fact (a stream's share of a budget, an
# unused balance) pass low=0 to the check themselves.
PENCE_MIN = 1


class MoneyError(ValueError):
    """An amount or a weight that is not a valid integer of the right sign."""


def require_pence(amount: object, *, name: str = "amount") -> int:
    """`amount` as pence: an int (not bool, not float)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyError(f"{name} must be integer pence, got {type(amount).__name__}")
    return amount


def pence_in_bounds(value: int, *, low: int = PENCE_MIN, high: int = PENCE_MAX) -> bool:
    """Whether `value` is whole pence in [low, high]; low is 0 or 1, high at most PENCE_MAX."""
    assert low in (0, 1)
    assert 0 < high <= PENCE_MAX
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def _check_split(total: object, weights: Sequence[object]) -> None:
    require_pence(total, name="total")
    assert isinstance(total, int)
    if total < 0:
        raise MoneyError("total must not be negative")
    if not weights:
        raise MoneyError("at least one weight is needed")
    for weight in weights:
        require_pence(weight, name="weight")
        assert isinstance(weight, int)
        if weight < 0:
            raise MoneyError("weights must not be negative")


def split_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` pence in proportion to non-negative integer `weights`, exactly."""
    # The common case checked in one pass (payment's hot path calls this twice per payment);
    # anything unusual goes through the full checks, which name the fault.
    if not (
        type(total) is int
        and total >= 0
        and weights
        and all(type(w) is int and w >= 0 for w in weights)
    ):
        _check_split(total, weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("weights must not all be zero")
    floors: list[int] = []
    remainders: list[int] = []
    for w in weights:
        floor, remainder = divmod(total * w, weight_sum)
        floors.append(floor)
        remainders.append(remainder)
    left = total - sum(floors)
    if left:
        # Largest remainder first; on a tie the earlier part wins (the sort is stable, and
        # stays so with reverse=True).
        order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for i in order[:left]:
            floors[i] += 1
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


def next_parts(whole: Sequence[int], done: Sequence[int], amount: int) -> list[int]:
    """The parts of the next `amount` pence of a fixed `whole` already `done` in part (ADR 7).

    `whole` is the final split (for a plan line: its cost split by its basis points, F), `done`
    what each part holds so far (pence, net), `amount` > 0 the pence to add. Rule "apportion
    over a fixed whole": the running total is split in proportion to `whole` (largest
    remainder), and the next parts are that target less what is done. When largest remainder
    would give one part less at the larger total (the Alabama paradox), the amount is split in
    proportion to what each part still lacks instead. Either way: every part >= 0, the parts sum
    to `amount`, done + part never exceeds whole (when done <= whole), and when done + amount
    is the whole total, done + parts is the whole exactly.

    Raises MoneyError when amount <= 0, a `done` is negative, or sum(done) + amount exceeds
    sum(whole).
    """
    require_pence(amount, name="amount")
    if len(whole) != len(done):
        raise MoneyError("whole and done must have one entry per part")
    if amount <= 0:
        raise MoneyError("amount must be positive")
    if not all(type(d) is int and d >= 0 for d in done):
        for d in done:
            require_pence(d, name="done")
            if d < 0:
                raise MoneyError("done must not be negative")
    total = sum(done) + amount
    if total > sum(whole):
        raise MoneyError("done plus amount exceeds the whole")
    target = split_largest_remainder(total, whole)
    parts = [t - d for t, d in zip(target, done, strict=True)]
    if min(parts) >= 0:
        return parts
    # Alabama paradox (or a done above its whole, after the whole shrank): split the amount
    # over what each part still lacks; sum(room) >= amount since sum(done) + amount <= sum(whole).
    room = [max(0, w - d) for w, d in zip(whole, done, strict=True)]
    parts = split_largest_remainder(amount, room)
    assert all(p <= r for p, r in zip(parts, room, strict=True))
    return parts
