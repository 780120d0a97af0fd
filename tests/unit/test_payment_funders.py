"""Reclaimed money goes back to its funder (issue 13, item 12; SI 2013/1617 reg 15): the pure
rule `payment.domain.funders.funder_returns`."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onebudget.ledger import FundingStream, chart
from onebudget.payment.domain.funders import Funder, FunderUnknown, funder_returns, return_order
from onebudget.payment.domain.model import STREAMS

NHS, COUNCIL, CLIENT = STREAMS


def _f(kind: str, owner: str, stream: FundingStream, net: int, year: int | None = 2026) -> Funder:
    return Funder(uuid.uuid4(), kind, owner, stream, year, net)


COHORT = _f(chart.RING_FENCE, "QNQ:CHC", NHS, 50_000)
GENERAL_FENCE = _f(chart.RING_FENCE, "QNQ", NHS, 30_000)
GENERAL = _f(chart.ALLOCATION, "QNQ", NHS, 20_000)
POT = _f(chart.ALLOCATION, "E06000036", COUNCIL, 40_000)
OWN = _f(chart.CONTRIBUTION, "b", CLIENT, 5_000)


def test_each_stream_goes_back_to_its_own_funders() -> None:
    got = funder_returns((10, 20, 30), STREAMS, [COHORT, POT, OWN])
    assert [(r.stream, r.account_id, r.amount_pence) for r in got] == [
        (NHS, COHORT.account_id, 10),
        (COUNCIL, POT.account_id, 20),
        (CLIENT, OWN.account_id, 30),
    ]


def test_nhs_money_goes_back_in_the_reverse_of_the_funding_order() -> None:
    """Taken cohort ring-fence -> general ring-fence -> general allocation; given back the
    other way, each up to what it still has in the budget."""
    got = funder_returns((60_000, 0, 0), STREAMS, [COHORT, GENERAL_FENCE, GENERAL])
    assert [(r.account_id, r.amount_pence) for r in got] == [
        (GENERAL.account_id, 20_000),
        (GENERAL_FENCE.account_id, 30_000),
        (COHORT.account_id, 10_000),
    ]
    assert return_order([COHORT, GENERAL, GENERAL_FENCE]) == [GENERAL, GENERAL_FENCE, COHORT]


def test_a_funder_with_nothing_left_in_the_budget_takes_nothing() -> None:
    emptied = _f(chart.ALLOCATION, "QNQ", NHS, 0)
    got = funder_returns((7, 0, 0), STREAMS, [emptied, COHORT])
    assert [(r.account_id, r.amount_pence) for r in got] == [(COHORT.account_id, 7)]


def test_a_closed_years_ring_fence_passes_the_money_on_to_the_allocation() -> None:
    got = funder_returns((5, 0, 0), STREAMS, [COHORT], closed_years=frozenset({("QNQ", 2026)}))
    assert got[0].then_to == chart.commissioner_allocation("QNQ", 2026).id
    open_year = funder_returns(
        (5, 0, 0), STREAMS, [COHORT], closed_years=frozenset({("QNQ", 2025)})
    )
    assert open_year[0].then_to is None
    pot = funder_returns((0, 5, 0), STREAMS, [POT], closed_years=frozenset({("QNQ", 2026)}))
    assert pot[0].then_to is None


def test_a_part_beyond_what_its_funders_put_in_is_refused_by_name() -> None:
    with pytest.raises(FunderUnknown) as caught:
        funder_returns((0, 40_001, 0), STREAMS, [POT, COHORT])
    assert caught.value.reason == "REPAYMENT_FUNDER_UNKNOWN"
    assert caught.value.metadata["funded_pence"] == "40000"
    with pytest.raises(FunderUnknown):
        funder_returns((1, 0, 0), STREAMS, [POT])


_funders = st.lists(
    st.tuples(
        st.sampled_from(
            [
                (chart.RING_FENCE, "QNQ:CHC"),
                (chart.RING_FENCE, "QNQ:S117"),
                (chart.RING_FENCE, "QNQ"),
                (chart.ALLOCATION, "QNQ"),
            ]
        ),
        st.integers(-1_000, 100_000),
    ),
    max_size=5,
)


@given(_funders, st.integers(0, 400_000))
def test_returns_sum_to_the_part_and_never_exceed_a_funder(
    funders: list[tuple[tuple[str, str], int]], part: int
) -> None:
    made = [_f(kind, owner, NHS, net) for (kind, owner), net in funders]
    funded = sum(f.net_funded_pence for f in made if f.net_funded_pence > 0)
    if part > funded:
        with pytest.raises(FunderUnknown):
            funder_returns((part, 0, 0), STREAMS, made)
        return
    got = funder_returns((part, 0, 0), STREAMS, made)
    assert sum(r.amount_pence for r in got) == part
    net = {f.account_id: f.net_funded_pence for f in made}
    assert all(0 < r.amount_pence <= net[r.account_id] for r in got)
    # Reverse of the funding order: a funder earlier in the return order is filled before a
    # later one gets anything.
    order = [f.account_id for f in return_order(made)]
    used = [order.index(r.account_id) for r in got]
    assert used == sorted(used)
    assert all(r.amount_pence == net[r.account_id] for r in got[:-1])
