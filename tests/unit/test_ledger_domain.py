"""The pure ledger core: result codes, linked chains, retries, two-phase, and timestamps."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from onebudget.ledger.domain import (
    AMOUNT_MAX,
    US_PER_S,
    Account,
    Balance,
    CreateAccountResult,
    FundingStream,
    LedgerState,
    Transfer,
    decide,
    validate_account,
)
from onebudget.ledger.domain import CreateTransferResult as R

SOURCE = UUID(int=1)
WALLET = UUID(int=2)
SINK = UUID(int=3)
COUNCIL = UUID(int=4)
BASE_TS = 1_000_000
_next = iter(range(100, 10**9))


def tid() -> UUID:
    return UUID(int=next(_next))


def state(wallet_credits: int = 1000) -> LedgerState:
    accounts = {
        SOURCE: Account(SOURCE, "allocation", "E38000001", FundingStream.NHS),
        WALLET: Account(
            WALLET, "budget", "p-1", FundingStream.NHS, 2025, debits_must_not_exceed_credits=True
        ),
        SINK: Account(SINK, "payee", "x", FundingStream.NHS, credits_must_not_exceed_debits=False),
        COUNCIL: Account(COUNCIL, "pooled_fund", "E09000001", FundingStream.COUNCIL),
    }
    balances = {a: Balance() for a in accounts}
    balances[WALLET] = Balance(credits_posted=wallet_credits)
    return LedgerState(
        base_ts=BASE_TS,
        accounts={a: (accounts[a], balances[a]) for a in accounts},
        transfers={},
        resolutions={},
        reversed_amounts={},
    )


def pay(amount: int, **kw: object) -> Transfer:
    reason = str(kw.pop("reason", "payment"))
    return Transfer(tid(), WALLET, SINK, amount, reason, **kw)  # type: ignore[arg-type]


def run(s: LedgerState, *transfers: Transfer) -> list[R]:
    results, _ = decide([list(transfers)], s)
    return results[0]


def test_bad_shapes_each_have_their_own_code() -> None:
    s = state()
    assert run(
        s,
        pay(0),
        pay(-5),
        pay(AMOUNT_MAX + 1),
        pay(1, reason="Not A Code"),
        pay(1, timeout_s=5),
        pay(1, pending=True, timeout_s=-1),
        pay(1, pending=True, post_pending=True),
        pay(1, pending_id=tid()),
        Transfer(tid(), None, None, 0, "settle", post_pending=True),
        Transfer(tid(), WALLET, WALLET, 1, "payment"),
        Transfer(tid(), WALLET, UUID(int=999), 1, "payment"),
        Transfer(tid(), WALLET, COUNCIL, 1, "payment"),
        Transfer(tid(), SINK, COUNCIL, 1, "payment", funding=True),
    ) == [
        R.AMOUNT_MUST_BE_POSITIVE,
        R.AMOUNT_MUST_BE_POSITIVE,
        R.AMOUNT_EXCEEDS_MAXIMUM,
        R.REASON_INVALID,
        R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER,
        R.TIMEOUT_MUST_NOT_BE_NEGATIVE,
        R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        R.PENDING_ID_MUST_NOT_BE_SET,
        R.PENDING_ID_REQUIRED,
        R.ACCOUNTS_MUST_BE_DIFFERENT,
        R.ACCOUNT_NOT_FOUND,
        R.FUNDING_STREAMS_MUST_MATCH,
        R.FUNDING_ROUTE_NOT_ALLOWED,
    ]
    assert s.accounts[WALLET][1] == Balance(credits_posted=1000)


def test_colour_changes_on_a_funding_route() -> None:
    s = state()
    assert run(s, Transfer(tid(), SOURCE, COUNCIL, 5, "s75", funding=True)) == [R.OK]


def test_available_balance_counts_pending_debits() -> None:
    s = state(1000)
    assert run(s, pay(700, pending=True), pay(301), pay(300)) == [
        R.OK,
        R.EXCEEDS_AVAILABLE_BALANCE,
        R.OK,
    ]
    assert s.accounts[WALLET][1].available == 0


def test_retry_is_exists_and_moves_nothing() -> None:
    s = state()
    first = pay(10)
    assert run(s, first, first, replace(first, amount=11)) == [
        R.OK,
        R.EXISTS,
        R.EXISTS_WITH_DIFFERENT_FIELDS,
    ]
    assert s.accounts[SINK][1] == Balance(credits_posted=10)


def test_linked_chain_fails_as_a_whole_and_state_is_restored() -> None:
    s = state(100)
    chain = [pay(60, linked=True), pay(30, linked=True), pay(20)]
    assert run(s, *chain) == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_AVAILABLE_BALANCE,
    ]
    assert s.accounts[WALLET][1] == Balance(credits_posted=100)
    assert s.next_ts == BASE_TS
    assert run(s, pay(1, linked=True)) == [R.LINKED_EVENT_CHAIN_OPEN]


def test_chain_retried_whole_is_exists_but_mixed_fails() -> None:
    s = state()
    chain = [pay(1, linked=True), pay(2)]
    assert run(s, *chain) == [R.OK, R.OK]
    assert run(s, *chain) == [R.EXISTS, R.EXISTS]
    # A new chain that reuses an applied id fails whole; the reused one says why.
    assert run(s, chain[0], pay(3)) == [R.EXISTS, R.LINKED_EVENT_FAILED]
    assert s.accounts[SINK][1] == Balance(credits_posted=3)


def test_groups_never_share_a_chain() -> None:
    s = state()
    results, accepted = decide([[pay(1, linked=True)], [pay(2)]], s)
    assert results == [[R.LINKED_EVENT_CHAIN_OPEN], [R.OK]]
    assert [t.amount for t in accepted] == [2]


def test_two_phase_codes() -> None:
    s = state(1000)
    hold = pay(500, pending=True, timeout_s=60)

    def settle(amount: int, **kw: object) -> Transfer:
        fields: dict[str, object] = {"pending_id": hold.id, **kw}
        return Transfer(tid(), None, None, amount, "settle", **fields)  # type: ignore[arg-type]

    assert run(
        s,
        hold,
        settle(501, post_pending=True),
        settle(7, void_pending=True),
        replace(settle(0, post_pending=True), debit_account_id=SINK),
        settle(200, post_pending=True),
        settle(0, void_pending=True),
        settle(0, post_pending=True, pending_id=tid()),
    ) == [
        R.OK,
        R.POST_EXCEEDS_PENDING_AMOUNT,
        R.VOID_AMOUNT_MUST_MATCH_PENDING,
        R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS,
        R.OK,
        R.PENDING_TRANSFER_ALREADY_POSTED,
        R.PENDING_TRANSFER_NOT_FOUND,
    ]
    assert s.accounts[WALLET][1] == Balance(debits_posted=200, credits_posted=1000)


def test_expiry_is_decided_on_the_transfer_timestamp() -> None:
    s = state()
    hold = pay(5, pending=True, timeout_s=1)
    assert run(s, hold) == [R.OK]
    assert s.transfers[hold.id].expires_at == BASE_TS + US_PER_S
    s.next_ts = BASE_TS + US_PER_S  # the ledger clock reached the deadline
    late = Transfer(tid(), None, None, 0, "settle", void_pending=True, pending_id=hold.id)
    assert run(s, late) == [R.PENDING_TRANSFER_EXPIRED]


def test_reversal_rules() -> None:
    s = state()
    original = pay(100)
    assert run(s, original) == [R.OK]

    def reverse(amount: int, debit: UUID = SINK, credit: UUID = WALLET) -> Transfer:
        return Transfer(tid(), debit, credit, amount, "correction", reverses_id=original.id)

    assert run(s, reverse(60), reverse(41), reverse(1, WALLET, SINK), reverse(40)) == [
        R.OK,
        R.REVERSAL_EXCEEDS_ORIGINAL,
        R.REVERSAL_ACCOUNTS_MUST_BE_SWAPPED,
        R.OK,
    ]


def test_account_validation() -> None:
    ok = Account(SOURCE, "allocation", "E38000001", FundingStream.NHS)
    assert validate_account(ok) is CreateAccountResult.OK
    both = replace(ok, debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True)
    assert validate_account(both) is CreateAccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    assert validate_account(replace(ok, kind="Bad")) is CreateAccountResult.KIND_INVALID
    assert validate_account(replace(ok, owner="")) is CreateAccountResult.OWNER_INVALID
    assert validate_account(replace(ok, financial_year=1999)) is (
        CreateAccountResult.FINANCIAL_YEAR_INVALID
    )


@given(st.lists(st.integers(1, 400), max_size=30))
def test_a_limited_account_never_goes_below_zero(amounts: list[int]) -> None:
    s = state(1000)
    results = run(s, *(pay(a) for a in amounts))
    spent = sum(a for a, r in zip(amounts, results, strict=True) if r is R.OK)
    assert spent <= 1000
    assert s.accounts[WALLET][1].available == 1000 - spent
    # Each refused payment was refused because it did not fit at its turn.
    running = 0
    for amount, result in zip(amounts, results, strict=True):
        assert (result is R.OK) == (running + amount <= 1000)
        running += amount if result is R.OK else 0


@given(st.integers(0, 20))
def test_accepted_transfers_get_consecutive_timestamps(n: int) -> None:
    s = state(10**6)
    _, accepted = decide([[pay(1) for _ in range(n)]], s)
    assert [t.ts for t in accepted] == list(range(BASE_TS, BASE_TS + n))
