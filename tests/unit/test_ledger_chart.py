"""The chart of accounts makes every id exactly as before it moved into the ledger package.

The expected ids were printed by the code on main before issue 12 moved it (allocation's
domain/accounts.py and payment's adapters/accounts.py): existing ledgers hold these ids, so a
changed namespace or name would orphan every account.
"""

from __future__ import annotations

import uuid

import pytest

from onebudget.ledger import chart
from onebudget.ledger.domain import FUNDING_ONLY_KINDS, FUNDING_ROUTES, Account, FundingStream
from onebudget.payment.domain.ids import instalment_payment_id, transfer_id

BUDGET = uuid.UUID("11111111-2222-4333-8444-555555555555")
PAYEE = uuid.UUID("99999999-8888-4777-8666-555555555555")


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (chart.commissioner_source("QNQ", 2026), "e518715f-2c1b-5482-b61c-7fcd0fcbfdbf"),
        (chart.commissioner_allocation("QNQ", 2026), "a82ba514-3998-5ddd-80ab-332a04707f0b"),
        (chart.ring_fence("QNQ", 2026, ""), "349e3da9-a9d2-5276-990d-4f5d873d9d6c"),
        (chart.ring_fence("QNQ", 2026, "CHC"), "ad7c3f3b-099a-5efb-a570-5388ab378435"),
        (chart.council_source("E06000036", 2026), "42ce38c6-c137-54e7-ba15-e2653875b648"),
        (chart.council_pot("E06000036", 2026), "873aa9e1-f74d-50da-a42f-07d371896a83"),
        (
            chart.budget_stream(BUDGET, FundingStream.NHS, 2026),
            "f75b6afc-b9e1-5323-b76b-1ac9714733fe",
        ),
        (
            chart.budget_stream(BUDGET, FundingStream.COUNCIL, 2026),
            "5fda6189-ccf4-5bec-92b8-d34b0a63bc2d",
        ),
        (
            chart.budget_stream(BUDGET, FundingStream.CLIENT, 2026),
            "6855bdec-c5fb-591a-8a06-8bd7b9dfeb00",
        ),
        (chart.contribution(BUDGET, 2026), "cdf5f46b-6b14-5627-9c3a-02e1fd89d8ad"),
    ],
)
def test_allocation_account_ids_are_unchanged(account: Account, expected: str) -> None:
    assert account.id == uuid.UUID(expected)
    assert account.kind in chart.KINDS
    assert chart.OPENED_BY[account.kind] == "allocation"


def test_payee_account_ids_are_unchanged() -> None:
    expected = {
        FundingStream.NHS: "5a7bd8af-2761-5b6a-91ab-8d4d9505e037",
        FundingStream.COUNCIL: "8ef1fdd4-b02c-56c0-ac95-db60f940330f",
        FundingStream.CLIENT: "09e875de-ce2d-575d-ade1-4489dfb58152",
    }
    for stream, value in expected.items():
        assert chart.payee_account_id(PAYEE, stream) == uuid.UUID(value)
    accounts = chart.payee_accounts(PAYEE)
    assert [(a.id, a.funding_stream) for a in accounts] == [
        (uuid.UUID(v), s) for s, v in expected.items()
    ]
    assert {(a.kind, a.owner, a.financial_year) for a in accounts} == {
        (chart.PAYEE, str(PAYEE), None)
    }
    assert not any(a.debits_must_not_exceed_credits for a in accounts)
    assert chart.OPENED_BY[chart.PAYEE] == "payment"


def test_payment_ids_in_the_shared_namespace_are_unchanged() -> None:
    assert transfer_id(BUDGET, "pay", FundingStream.NHS) == uuid.UUID(
        "7d9a6f7e-165f-565e-a78d-7906314de1cf"
    )
    assert instalment_payment_id(BUDGET, 3) == uuid.UUID("1bb7e729-6bf4-5939-8198-d8b728f4b875")


@pytest.mark.parametrize("cohort", ["", "CHC", "MENTAL_HEALTH"])
def test_a_ring_fence_owner_gives_back_its_cohort(cohort: str) -> None:
    for ods in ("QNQ", "15N"):
        owner = chart.ring_fence(ods, 2026, cohort).owner
        assert chart.ring_fence_cohort(ods, owner) == cohort


def test_limits_follow_the_layout_table() -> None:
    limited = {
        chart.commissioner_allocation("X", 2026),
        chart.ring_fence("X", 2026, "CHC"),
        chart.council_pot("Y", 2026),
        chart.budget_stream(BUDGET, FundingStream.COUNCIL, 2026),
    }
    unlimited = {
        chart.commissioner_source("X", 2026),
        chart.council_source("Y", 2026),
        chart.contribution(BUDGET, 2026),
    }
    assert all(a.debits_must_not_exceed_credits for a in limited)
    assert not any(a.debits_must_not_exceed_credits for a in unlimited)


def test_every_kind_the_ledger_routes_is_in_the_chart() -> None:
    routed = {k for d, _, c, _ in FUNDING_ROUTES for k in (d, c)} | FUNDING_ONLY_KINDS
    assert routed <= chart.KINDS
    assert set(chart.OPENED_BY) <= chart.KINDS
