"""`broker budget` and `finance budgets` say what a broker may do (issue 16): an ended budget
shows nothing payable (it showed "available" money), a line paid to the person says so (it
said "any PERSON"), the payees hint names the person's direct-payment accounts, and a service
period is checked by the command in the options typed."""

from __future__ import annotations

import re

import pytest

from onebudget.allocation.entrypoints.cli import budget_detail, budgets_table, payee_rule
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.broker_desk import budget_with_payees, payees_hint
from onebudget.cli import main

PERSON = "11111111-1111-1111-1111-111111111111"


def _budget(status: int, end_reason: int = 0) -> pb.Budget:
    return pb.Budget(
        budget_id="b-1",
        person_id=PERSON,
        commissioner_ods_code="QNQ",
        council_gss_code="E06000036",
        financial_year=2026,
        start_date="2026-04-01",
        end_date="2027-03-31",
        status=status,  # type: ignore[arg-type]
        end_reason=end_reason,  # type: ignore[arg-type]
        ended_on="2026-09-30" if status == pb.BUDGET_STATUS_ENDED else "",
        agreed_pence=100_000,
        spent_pence=40_000,
        available_pence=60_000,
        streams=[
            pb.BudgetStream(
                funding_stream=pb.FUNDING_STREAM_NHS,
                agreed_pence=100_000,
                spent_pence=40_000,
                available_pence=60_000,
            )
        ],
        plan_lines=[
            pb.PlanLine(
                plan_line_id="l-1",
                description="Weekly support",
                category="personal_care",
                allowed_payee_kind=pb.PAYEE_KIND_PERSON,
                cost_pence=100_000,
                spent_pence=40_000,
                available_pence=60_000,
            )
        ],
    )


def test_an_ended_budget_shows_nothing_payable() -> None:
    for reason, words in (
        (pb.END_REASON_PERSON_DIED, "(person died)"),
        (pb.END_REASON_REQUESTED, "(requested)"),
    ):
        text = budget_detail(_budget(pb.BUDGET_STATUS_ENDED, reason))
        assert f"ENDED on 2026-09-30 {words}: nothing may be paid from it" in text
        assert "available (£)" not in text
        assert "none (ended)" in text
        assert "unspent at end (£)" in text
        assert "left (£)" not in text
        listed = budgets_table([_budget(pb.BUDGET_STATUS_ENDED, reason)])
        assert re.search(r"ended$", listed.splitlines()[2])
        assert "£600.00" not in listed


def test_an_ended_budget_lists_no_payees_to_pay() -> None:
    # The tester's finding: `broker budget` said "nothing may be paid" and then listed the
    # "Payees these lines may pay".
    ended = budget_with_payees(_budget(pb.BUDGET_STATUS_ENDED, pb.END_REASON_PERSON_DIED), [])
    assert "nothing may be paid from it" in ended
    assert "Payees these lines may pay" not in ended
    assert "onebudget broker payees" not in ended
    agreed = budget_with_payees(_budget(pb.BUDGET_STATUS_AGREED), [])
    assert "Payees these lines may pay" in agreed
    assert "onebudget broker payees" in agreed


def test_a_stopped_budget_says_so_before_its_figures() -> None:
    from onebudget.payment.entrypoints.cli import format_statement
    from onebudget.payment.v1 import payment_service_pb2 as pay

    stopped = pay.BudgetStatement(budget_id="b", payments_stopped=True, stop_grounds="MISUSE")
    text = budget_with_payees(_budget(pb.BUDGET_STATUS_AGREED), [], stopped)
    says = "payments STOPPED (misuse): nothing may be paid from this budget until they are resumed"
    assert says in text.splitlines()[1]
    assert says in format_statement(stopped)
    paying = pay.BudgetStatement(budget_id="b")
    assert "STOPPED" not in budget_with_payees(_budget(pb.BUDGET_STATUS_AGREED), [], paying)
    assert "STOPPED" not in format_statement(paying)


def test_an_agreed_budget_shows_what_is_available() -> None:
    text = budget_detail(_budget(pb.BUDGET_STATUS_AGREED))
    assert "available (£)" in text
    assert "left (£)" in text
    assert "ENDED" not in text
    assert re.search(r"£600\.00$", budgets_table([_budget(pb.BUDGET_STATUS_AGREED)]), re.M)


def test_who_a_line_may_pay_is_said_in_words() -> None:
    for kind, words in (
        (pb.PAYEE_KIND_PERSON, "the person's direct-payment account"),
        (pb.PAYEE_KIND_NOMINEE, "a nominee's direct-payment account"),
        (pb.PAYEE_KIND_PROVIDER, "any provider"),
        (pb.PAYEE_KIND_UNSPECIFIED, "any payee"),
    ):
        assert payee_rule(pb.PlanLine(allowed_payee_kind=kind)) == words
    assert payee_rule(pb.PlanLine(allowed_payee_id="payee-9")) == "payee-9"
    assert "any PERSON" not in budget_detail(_budget(pb.BUDGET_STATUS_AGREED))


def test_the_payees_hint_names_the_direct_payment_accounts() -> None:
    hint = payees_hint(_budget(pb.BUDGET_STATUS_AGREED))
    assert f"onebudget broker payees --person {PERSON}" in hint
    assert "--organisation QNQ" in hint
    assert "--organisation E06000036" in hint


A_ID = "0b6d1f0e-7d2a-4c55-9a11-2f1e7b9a0c01"
PAY = [
    *("broker", "pay", "--budget", A_ID, "--plan-line", A_ID),
    *("--payee", A_ID, "--amount-pence", "5"),
]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--period-start", "2026-13-01"], "argument --period-start: '2026-13-01' is not a date"),
        (["--period-end", "20261201"], "argument --period-end: '20261201' is not a date"),
        (
            ["--period-start", "2026-12-02", "--period-end", "2026-12-01"],
            "argument --period-end: 2026-12-01 is before --period-start 2026-12-02",
        ),
    ],
)
def test_a_service_period_is_checked_by_the_command(
    extra: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for verb in ("pay", "reserve"):
        with pytest.raises(SystemExit) as stopped:
            main(["broker", verb, *PAY[2:], *extra])
        assert stopped.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"onebudget broker {verb}: error: {words}")
        assert "service_period" not in err[-1]
