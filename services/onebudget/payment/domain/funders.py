"""Where reclaimed money goes: back to the funder it came from (pure).

A repayment received (a reclaim under NHS (Direct Payments) Regulations 2013, SI 2013/1617,
reg 15: unused accumulation, spend outside the plan, theft or fraud, a change of plan, death)
is the funder's money coming home. It must not stay in the budget, where a live budget could
spend it again and an ended budget would hold it for nobody (issue 13, item 12). So each
stream's part goes on from the budget's stream account to the accounts that funded that
stream, as the ledger recorded them (the funding transfers into the budget, net of funding
moves back out: cuts, the end's sweep):

- NHS: the ring-fence(s) and the commissioner's general allocation that funded it. The budget's
  NHS money is taken from its cohort's ring-fence, then the general ring-fence, then the general
  allocation; a return goes back in the reverse order (the allocation first, then the general
  ring-fence, then the cohort ring-fences), each up to what that source still has in the
  budget, so the budget's net funding afterwards is as if it had been funded for the smaller
  amount in the first place. When the commissioner's year is closed, a ring-fence takes money
  only to pass it on to the general allocation (as allocation does for a return after the close).
- COUNCIL: the council's personal-budget pot.
- CLIENT: the person's contribution account (it is the person's own money).

All amounts are integer pence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from onebudget.ledger import chart
from onebudget.ledger.domain import FundingStream
from onebudget.payment.domain import errors
from onebudget.shared.errors import FailedPrecondition

# Return order by the kind of funder: reverse of the order NHS money is taken (issue 13 item 1).
_ALLOCATION_FIRST, _GENERAL_FENCE, _COHORT_FENCE, _OTHER = range(4)


@dataclass(frozen=True)
class Funder:
    """An account that funded one stream of a budget, as the ledger recorded it."""

    account_id: UUID
    kind: str  # chart kind: ring_fence, allocation, contribution
    owner: str  # "<ODS>", "<ODS>:<cohort>", a GSS code, or the budget id
    funding_stream: FundingStream
    financial_year: int | None
    net_funded_pence: int  # funding moved into the budget from it, less funding moved back

    @property
    def commissioner(self) -> str:
        """The ODS code of a ring-fence's owner ("" for anything else)."""
        return self.owner.split(":", 1)[0] if self.kind == chart.RING_FENCE else ""


@dataclass(frozen=True)
class FunderReturn:
    """`amount_pence` of `stream` to move from the budget's stream account to `account_id`;
    `then_to` is set when the funder is a ring-fence of a closed year: the money passes on to
    that account (the commissioner's general allocation)."""

    stream: FundingStream
    account_id: UUID
    kind: str
    amount_pence: int
    then_to: UUID | None = None


class FunderUnknown(FailedPrecondition):
    """A stream's part of a repayment exceeds what the ledger shows its funders put into the
    budget: there is nowhere lawful to send it (never expected: a repayment never exceeds what
    the payee was paid from the budget)."""

    def __init__(self, stream: FundingStream, part_pence: int, funded_pence: int) -> None:
        super().__init__(
            reason=errors.REPAYMENT_FUNDER_UNKNOWN,
            message=f"the {stream.value} part has no funder in the ledger to go back to",
            metadata={
                "funding_stream": stream.value,
                "part_pence": str(part_pence),
                "funded_pence": str(funded_pence),
            },
        )


def _rank(funder: Funder) -> tuple[int, str]:
    if funder.kind == chart.ALLOCATION:
        return (_ALLOCATION_FIRST, funder.owner)
    if funder.kind == chart.RING_FENCE:
        general = ":" not in funder.owner
        return (_GENERAL_FENCE if general else _COHORT_FENCE, funder.owner)
    return (_OTHER, funder.owner)


def return_order(funders: Sequence[Funder]) -> list[Funder]:
    """The funders of one stream in the order a return refills them: the general allocation,
    then the general ring-fence, then cohort ring-fences (by owner), then the rest (the council
    pot, the contribution); funders with nothing left in the budget are dropped."""
    return sorted((f for f in funders if f.net_funded_pence > 0), key=_rank)


def funder_returns(
    parts: Sequence[int],
    streams: Sequence[FundingStream],
    funders: Sequence[Funder],
    *,
    closed_years: frozenset[tuple[str, int]] = frozenset(),
) -> list[FunderReturn]:
    """Where each stream's part of a repayment goes (pence per stream, in `streams` order).

    Each part is spread over its stream's funders in `return_order`, each taking at most what it
    still has in the budget (`net_funded_pence`). A ring-fence of a (commissioner, year) in
    `closed_years` passes its share on to that commissioner's general allocation of the year.
    Raises FunderUnknown (FAILED_PRECONDITION, REPAYMENT_FUNDER_UNKNOWN) when a part exceeds
    what its stream's funders put in. The returns of a stream sum to its part exactly.
    """
    found: list[FunderReturn] = []
    for stream, part in zip(streams, parts, strict=True):
        assert part >= 0
        if part == 0:
            continue
        mine = return_order([f for f in funders if f.funding_stream == stream])
        funded = sum(f.net_funded_pence for f in mine)
        if part > funded:
            raise FunderUnknown(stream, part, funded)
        left = part
        for funder in mine:
            if left == 0:
                break
            take = min(left, funder.net_funded_pence)
            left -= take
            found.append(
                FunderReturn(
                    stream, funder.account_id, funder.kind, take, _then_to(funder, closed_years)
                )
            )
        assert left == 0
    return found


def _then_to(funder: Funder, closed_years: frozenset[tuple[str, int]]) -> UUID | None:
    if funder.kind != chart.RING_FENCE or funder.financial_year is None:
        return None
    ods = funder.commissioner
    if (ods, funder.financial_year) not in closed_years:
        return None
    return chart.commissioner_allocation(ods, funder.financial_year).id
