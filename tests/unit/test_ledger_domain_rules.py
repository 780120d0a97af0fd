"""The pure ledger core (ledger/domain.py) at the edges the older tests left open: every balance
field after pending, posted, voided and expired transfers, limits to the penny, retries of
resolutions, reversals of what was never posted, and the fields a stored transfer keeps.
Amounts are integer pence; timestamps microseconds."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from onebudget.ledger.domain import (
    AMOUNT_MAX,
    BALANCE_MAX,
    TIMEOUT_S_MAX,
    US_PER_S,
    Account,
    Balance,
    CreateAccountResult,
    FundingStream,
    LedgerState,
    StoredTransfer,
    Transfer,
    decide,
    validate_account,
)
from onebudget.ledger.domain import CreateTransferResult as R
from tests.unit.test_ledger_domain import BASE_TS, SINK, SOURCE, WALLET, pay, run, state, tid

FENCE = UUID(int=5)
CAPPED = UUID(int=6)


def _balance(s: LedgerState, account: UUID) -> Balance:
    return s.accounts[account][1]


def _settle(pending: Transfer, amount: int = 0, **kw: object) -> Transfer:
    fields: dict[str, object] = {"pending_id": pending.id, **kw}
    return Transfer(tid(), None, None, amount, "settle", **fields)  # type: ignore[arg-type]


# -- balances, field by field ---------------------------------------------------------------------


def test_a_pending_transfer_holds_on_both_sides_and_posts_nothing() -> None:
    s = state(1_000)
    assert run(s, pay(300, pending=True)) == [R.OK]
    assert _balance(s, WALLET) == Balance(0, 1_000, 300, 0)
    assert _balance(s, SINK) == Balance(0, 0, 0, 300)


def test_a_posted_transfer_moves_posted_balances_only() -> None:
    s = state(1_000)
    assert run(s, pay(300)) == [R.OK]
    assert _balance(s, WALLET) == Balance(300, 1_000, 0, 0)
    assert _balance(s, SINK) == Balance(0, 300, 0, 0)


def test_posting_part_of_a_hold_moves_that_part_and_releases_the_hold() -> None:
    s = state(1_000)
    hold = pay(300, pending=True)
    assert run(s, hold, _settle(hold, 200, post_pending=True)) == [R.OK, R.OK]
    assert _balance(s, WALLET) == Balance(200, 1_000, 0, 0)
    assert _balance(s, SINK) == Balance(0, 200, 0, 0)


def test_posting_a_hold_in_full_is_allowed_to_the_penny() -> None:
    s = state(1_000)
    hold = pay(300, pending=True)
    assert run(s, hold, _settle(hold, 300, post_pending=True)) == [R.OK, R.OK]
    assert _balance(s, SINK) == Balance(0, 300, 0, 0)


def test_resolving_one_hold_leaves_the_others_held_on_both_sides() -> None:
    s = state(1_000)
    first, second = pay(300, pending=True), pay(200, pending=True)
    assert run(s, first, second, _settle(first, 100, post_pending=True)) == [R.OK] * 3
    assert _balance(s, WALLET) == Balance(100, 1_000, 200, 0)
    assert _balance(s, SINK) == Balance(0, 100, 0, 200)


def test_a_debit_keeps_the_credits_its_account_has_pending() -> None:
    """An account paid by a hold can itself be debited; its pending credits stay as they were."""
    s = state(1_000)
    assert run(s, pay(300, pending=True)) == [R.OK]
    onward = Transfer(tid(), SINK, SOURCE, 100, "payment", pending=True)
    assert run(s, onward) == [R.OK]
    assert _balance(s, SINK) == Balance(0, 0, 100, 300)
    assert run(s, Transfer(tid(), SINK, SOURCE, 50, "payment")) == [R.OK]
    assert _balance(s, SINK) == Balance(50, 0, 100, 300)


def test_voiding_a_hold_moves_nothing_and_releases_it() -> None:
    s = state(1_000)
    hold = pay(300, pending=True)
    void = _settle(hold, void_pending=True)
    assert run(s, hold, void) == [R.OK, R.OK]
    assert _balance(s, WALLET) == Balance(0, 1_000, 0, 0)
    assert _balance(s, SINK) == Balance(0, 0, 0, 0)
    # A voided hold stays voided: posting it later says so.
    assert run(s, _settle(hold, post_pending=True)) == [R.PENDING_TRANSFER_ALREADY_VOIDED]


def test_a_hold_the_ledger_expired_cannot_be_posted() -> None:
    s = state(1_000)
    hold = pay(300, pending=True, timeout_s=60)
    assert run(s, hold) == [R.OK]
    stored = s.transfers[hold.id]
    expiry = replace(
        stored,
        id=tid(),
        reason="expired",
        pending=False,
        void_pending=True,
        expire_pending=True,
        pending_id=hold.id,
        timeout_s=0,
        expires_at=None,
        ts=s.next_ts,
    )
    s.store(expiry)
    assert run(s, _settle(hold, post_pending=True)) == [R.PENDING_TRANSFER_EXPIRED]


def test_a_resolution_is_stored_with_the_holds_accounts_and_the_amount_moved() -> None:
    s = state(1_000)
    hold = pay(300, pending=True, budget_ref="b-1", plan_line_ref="l-1", payment_ref="p-1")
    _, accepted = decide([[hold, _settle(hold, post_pending=True)]], s)
    held, posted = accepted
    assert (held.budget_ref, held.plan_line_ref, held.payment_ref) == ("b-1", "l-1", "p-1")
    assert (held.expire_pending, held.expires_at) == (False, None)
    assert (posted.debit_account_id, posted.credit_account_id) == (WALLET, SINK)
    assert posted.amount == 300  # amount 0 means the whole hold
    assert posted.pending_id == hold.id


def test_a_hold_with_a_timeout_expires_that_many_seconds_after_its_timestamp() -> None:
    s = state(1_000)
    _, accepted = decide([[pay(1), pay(2, pending=True, timeout_s=3)]], s)
    assert [t.expires_at for t in accepted] == [None, BASE_TS + 1 + 3 * US_PER_S]
    assert all(t.expire_pending is False for t in accepted)


def test_the_journal_is_off_once_a_chain_is_decided() -> None:
    s = state(1_000)
    assert run(s, pay(1, linked=True), pay(2)) == [R.OK, R.OK]
    assert s.journal is False


# -- shapes and limits at their edges -------------------------------------------------------------


def test_two_phases_at_once_are_refused() -> None:
    s = state()
    hold = pay(5, pending=True)
    assert (
        run(
            s,
            hold,
            pay(1, pending=True, void_pending=True, pending_id=hold.id),
            _settle(hold, post_pending=True, void_pending=True),
            pay(1, pending=True, reverses_id=hold.id),
        )
        == [R.OK] + [R.FLAGS_ARE_MUTUALLY_EXCLUSIVE] * 3
    )


def test_timeouts_and_amounts_up_to_their_maximum_are_allowed() -> None:
    s = state(AMOUNT_MAX)
    assert run(
        s,
        pay(1, pending=True, timeout_s=TIMEOUT_S_MAX),
        pay(1, pending=True, timeout_s=TIMEOUT_S_MAX + 1),
        pay(1, timeout_s=1),
        pay(AMOUNT_MAX - 1),
    ) == [R.OK, R.TIMEOUT_EXCEEDS_MAXIMUM, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER, R.OK]
    t = state(AMOUNT_MAX)
    assert run(t, pay(AMOUNT_MAX)) == [R.OK]


def _with(s: LedgerState, account: Account, balance: Balance) -> LedgerState:
    s.accounts[account.id] = (account, balance)
    return s


def test_an_account_whose_credits_may_not_exceed_its_debits_takes_credits_to_the_penny() -> None:
    capped = Account(CAPPED, "payee", "x", FundingStream.NHS, credits_must_not_exceed_debits=True)
    s = _with(state(1_000), capped, Balance(debits_posted=10, credits_posted=3, credits_pending=2))

    def to_capped(amount: int) -> Transfer:
        return Transfer(tid(), WALLET, CAPPED, amount, "payment")

    assert run(s, to_capped(6), to_capped(5), to_capped(1)) == [
        R.EXCEEDS_DEBITS,
        R.OK,
        R.EXCEEDS_DEBITS,
    ]


@pytest.mark.parametrize("side", ["debit", "credit"])
def test_a_balance_may_reach_but_never_pass_the_largest_bigint(side: str) -> None:
    """Posted and pending both count toward the overflow limit, on either side."""
    s = state()
    near = (
        Balance(BALANCE_MAX - 20, 0, 9, 0)
        if side == "debit"
        else Balance(0, BALANCE_MAX - 20, 0, 9)
    )
    account = SOURCE if side == "debit" else SINK
    s.accounts[account] = (s.accounts[account][0], near)

    def move(amount: int) -> Transfer:
        return Transfer(tid(), SOURCE, SINK, amount, "payment")

    assert run(s, move(12), move(11)) == [R.OVERFLOWS_BALANCE, R.OK]


def test_only_a_funding_transfer_may_touch_a_ring_fence() -> None:
    fence = Account(FENCE, "ring_fence", "00L", FundingStream.NHS)
    s = _with(state(), fence, Balance(credits_posted=100))
    assert run(s, Transfer(tid(), FENCE, WALLET, 1, "payment")) == [R.FUNDING_ONLY_ACCOUNT]
    assert run(s, Transfer(tid(), WALLET, FENCE, 1, "payment")) == [R.FUNDING_ONLY_ACCOUNT]


def test_a_transfer_needs_both_accounts() -> None:
    s = state()
    assert run(s, Transfer(tid(), None, SINK, 1, "payment")) == [R.ACCOUNT_NOT_FOUND]
    assert run(s, Transfer(tid(), WALLET, None, 1, "payment")) == [R.ACCOUNT_NOT_FOUND]


def test_an_open_chain_at_the_end_of_a_group_fails_alone() -> None:
    s = state()
    assert run(s, pay(1), pay(2, linked=True)) == [R.OK, R.LINKED_EVENT_CHAIN_OPEN]


# -- retries of resolutions ----------------------------------------------------------------------


def test_a_retried_resolution_is_the_same_request_with_or_without_its_accounts() -> None:
    s = state(1_000)
    hold = pay(300, pending=True)
    post = _settle(hold, post_pending=True)
    assert run(s, hold, post) == [R.OK, R.OK]
    assert (
        run(
            s,
            post,  # amount 0 again: the whole hold
            replace(post, debit_account_id=WALLET, credit_account_id=SINK),
            replace(post, amount=300),
            replace(post, debit_account_id=SINK),
            replace(post, credit_account_id=WALLET),
            replace(post, amount=299),
        )
        == [R.EXISTS] * 3 + [R.EXISTS_WITH_DIFFERENT_FIELDS] * 3
    )


def test_a_retried_transfer_must_name_the_same_accounts_and_amount() -> None:
    s = state(1_000)
    first = pay(10)
    assert run(s, first) == [R.OK]
    assert (
        run(
            s,
            replace(first, debit_account_id=SOURCE),
            replace(first, credit_account_id=WALLET),
            replace(first, amount=0),
            replace(first, budget_ref="other"),
        )
        == [R.EXISTS_WITH_DIFFERENT_FIELDS] * 4
    )


# -- reversals ------------------------------------------------------------------------------------


def test_only_posted_money_can_be_reversed() -> None:
    s = state(1_000)
    hold = pay(300, pending=True)
    void = _settle(hold, void_pending=True)
    assert run(s, hold) == [R.OK]

    def reverse(original: Transfer) -> Transfer:
        return Transfer(tid(), SINK, WALLET, 1, "correction", reverses_id=original.id)

    assert run(s, reverse(hold)) == [R.REVERSED_TRANSFER_NOT_POSTED]
    assert run(s, void, reverse(void)) == [R.OK, R.REVERSED_TRANSFER_NOT_POSTED]


def test_partial_reversals_add_up_to_at_most_the_original() -> None:
    s = state(1_000)
    original = pay(10)

    def reverse(amount: int) -> Transfer:
        return Transfer(tid(), SINK, WALLET, amount, "correction", reverses_id=original.id)

    assert run(s, original, reverse(3), reverse(3), reverse(5), reverse(4)) == [
        R.OK,
        R.OK,
        R.OK,
        R.REVERSAL_EXCEEDS_ORIGINAL,
        R.OK,
    ]
    whole = pay(7)
    assert run(s, whole, Transfer(tid(), SINK, WALLET, 7, "correction", reverses_id=whole.id)) == [
        R.OK,
        R.OK,
    ]


# -- accounts -------------------------------------------------------------------------------------


def test_account_fields_are_valid_up_to_their_limits() -> None:
    ok = Account(SOURCE, "allocation", "E38000001", FundingStream.NHS)
    assert validate_account(replace(ok, debits_must_not_exceed_credits=True)) is (
        CreateAccountResult.OK
    )
    assert validate_account(replace(ok, credits_must_not_exceed_debits=True)) is (
        CreateAccountResult.OK
    )
    for owner, result in [
        ("x", CreateAccountResult.OK),
        ("x" * 100, CreateAccountResult.OK),
        ("x" * 101, CreateAccountResult.OWNER_INVALID),
    ]:
        assert validate_account(replace(ok, owner=owner)) is result
    for year, result in [
        (2000, CreateAccountResult.OK),
        (2100, CreateAccountResult.OK),
        (2101, CreateAccountResult.FINANCIAL_YEAR_INVALID),
    ]:
        assert validate_account(replace(ok, financial_year=year)) is result


def test_stored_transfers_are_what_a_batch_returns() -> None:
    s = state(1_000)
    _, accepted = decide([[pay(1)]], s)
    assert all(isinstance(t, StoredTransfer) for t in accepted)
