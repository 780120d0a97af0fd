"""Event handlers that turn the streams' events into read-model facts.

Each runs inside the consumer's transaction that also records the event id (applied at most once,
shared/consumer.py), and each write is an upsert keyed by the fact's own id, so a duplicate with a
new event id, or events arriving in another order across streams, still give the same rows.
Events reporting does not need are ignored (and recorded as applied, so they are not re-read).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date
from typing import Any, TypeVar

import asyncpg
from google.protobuf.message import Message

from onebudget.events.v1 import allocation_pb2 as al
from onebudget.events.v1 import entitlement_pb2 as en
from onebudget.events.v1 import envelope_pb2
from onebudget.events.v1 import payment_pb2 as pay
from onebudget.reporting.adapters import read_model
from onebudget.reporting.adapters.read_model import LineFact
from onebudget.reporting.domain.model import (
    Allocation,
    Budget,
    CouncilPot,
    Movement,
    NhsDraw,
    RingFence,
)
from onebudget.shared import sealing
from onebudget.shared.clock import england_date
from onebudget.shared.consumer import PoisonEvent
from onebudget.shared.logging import get_logger

# Payments are dated by the day they happened in England (a 00:30 BST payment is that day's).

M = TypeVar("M", bound=Message)
Handler = Callable[[asyncpg.Connection, envelope_pb2.EventEnvelope], Awaitable[None]]

_log = get_logger("onebudget.reporting.projections")


def _unpack(envelope: envelope_pb2.EventEnvelope, kind: type[M]) -> M:
    message = kind()
    if not envelope.payload.Unpack(message):
        raise PoisonEvent(f"payload is not a {kind.DESCRIPTOR.full_name}")
    return message


def _date(text: str) -> date | None:
    """An ISO date, or None when empty; a malformed one is a bug upstream (poison)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PoisonEvent(f"bad date {text!r}") from None


def _required_date(text: str) -> date:
    found = _date(text)
    if found is None:
        raise PoisonEvent("a required date is missing")
    return found


def _occurred_on(envelope: envelope_pb2.EventEnvelope) -> date:
    if not envelope.HasField("occurred_at"):
        raise PoisonEvent("the envelope has no occurred_at")
    return england_date(envelope.occurred_at.ToDatetime(tzinfo=UTC))


# -- allocation ----------------------------------------------------------------------------------


async def _allocation_set(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.CommissionerAllocationSet)
    allocation = Allocation(
        commissioner=e.commissioner_ods_code,
        year=e.financial_year,
        allocation_pence=e.allocation_pence,
        target_basis_points=e.phb_target_basis_points,
        target_pence=e.phb_target_pence,
        ring_fences=tuple(
            RingFence(f.cohort, f.basis_points, f.target_pence, f.account_id) for f in e.ring_fences
        ),
        closed_on=None,
    )
    account = e.allocation_account_id or None
    await read_model.put_allocation(conn, allocation, None if account is None else _uuid(account))


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise PoisonEvent(f"bad uuid {text!r}") from None


async def _year_closed(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.FinancialYearClosed)
    await read_model.put_close(
        conn, e.commissioner_ods_code, e.financial_year, _required_date(e.closed_on)
    )


async def _council_pot(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.CouncilAllocationSet)
    pot = CouncilPot(e.council_gss_code, e.financial_year, e.pot_pence)
    await read_model.put_council_pot(conn, pot, _uuid(e.account_id))


def _budget(e: Any, **dates: date | None) -> Budget:
    """The budget identity every budget event carries, with the dates this event knows."""
    return Budget(
        budget_id=e.budget_id,
        person_id=e.person_id,
        commissioner=e.commissioner_ods_code,
        council=e.council_gss_code,
        year=e.financial_year,
        cohort=e.cohort,
        child=e.child,
        start_date=dates.get("start_date"),
        end_date=dates.get("end_date"),
        agreed_on=dates.get("agreed_on"),
        ended_on=dates.get("ended_on"),
    )


def _lines(lines: Any) -> list[LineFact]:
    return [
        LineFact(x.plan_line_id, x.management_option, x.nhs_pence, x.council_pence, x.client_pence)
        for x in lines
    ]


async def _budget_created(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.BudgetCreated)
    await read_model.put_budget(
        conn,
        _budget(e, start_date=_date(e.start_date), end_date=_date(e.end_date)),
    )


async def _budget_agreed(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.BudgetAgreed)
    agreed_on = _required_date(e.agreed_on)
    await read_model.put_budget(
        conn,
        _budget(e, start_date=_date(e.start_date), end_date=_date(e.end_date), agreed_on=agreed_on),
    )
    await read_model.put_plan_lines(conn, e.budget_id, _lines(e.plan_lines))
    money = Movement(e.budget_id, agreed_on, e.nhs_pence, e.council_pence, e.client_pence)
    version = _version(env, e.budget_version)
    await read_model.put_commitment(conn, money, version, "agreed")
    await _put_nhs_funding(conn, money, version, e.nhs_funding)


async def _put_nhs_funding(
    conn: asyncpg.Connection, money: Movement, version: int, sources: Any
) -> None:
    """Where the event's NHS money came from or went to; an event that names no source (from
    before the PHB target became a floor) moved it with the budget's own ring-fence."""
    if sources:
        draws = [
            NhsDraw(
                money.budget_id, money.on, s.ring_fence, s.cohort if s.ring_fence else "", s.pence
            )
            for s in sources
        ]
        if sum(d.pence for d in draws) != money.nhs_pence:
            raise PoisonEvent("a budget event whose NHS sources do not sum to its NHS money")
        accounts = [s.account_id for s in sources]
    elif money.nhs_pence:
        draws, accounts = [NhsDraw(money.budget_id, money.on, True, None, money.nhs_pence)], [""]
    else:
        return
    await read_model.put_nhs_funding(conn, draws, version, accounts)


def _version(env: envelope_pb2.EventEnvelope, stated: int) -> int:
    version = stated or env.aggregate_version
    if version <= 0:
        raise PoisonEvent("a budget event without a version")
    return version


async def _budget_revised(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.BudgetRevised)
    await read_model.put_budget(conn, _budget(e))
    await read_model.put_plan_lines(conn, e.budget_id, _lines(e.added_lines))
    await read_model.put_plan_line_removals(conn, e.budget_id, list(e.removed_plan_line_ids))
    money = Movement(
        e.budget_id,
        _required_date(e.notice_date),
        e.nhs_delta_pence,
        e.council_delta_pence,
        e.client_delta_pence,
    )
    version = _version(env, e.budget_version)
    await read_model.put_commitment(conn, money, version, "revised")
    await _put_nhs_funding(conn, money, version, e.nhs_funding)


async def _budget_ended(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, al.BudgetEnded)
    ended_on = _required_date(e.ended_on)
    await read_model.put_budget(conn, _budget(e, ended_on=ended_on))
    returned = Movement(
        e.budget_id,
        ended_on,
        -e.nhs_returned_pence,
        -e.council_returned_pence,
        -e.client_returned_pence,
    )
    if e.was_agreed:
        version = _version(env, 0)
        await read_model.put_commitment(conn, returned, version, "ended")
        await _put_nhs_funding(conn, returned, version, e.nhs_funding)


# -- payment -------------------------------------------------------------------------------------


def _movement(
    env: envelope_pb2.EventEnvelope,
    context: pay.PaymentContext,
    streams: pay.PaymentStreamPence,
    sign: int,
) -> Movement:
    if not context.budget_id:
        raise PoisonEvent("a money event without its budget")
    return Movement(
        context.budget_id,
        _occurred_on(env),
        sign * streams.nhs_pence,
        sign * streams.council_pence,
        sign * streams.client_pence,
    )


async def _paid(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    """Released, a confirmed reservation, or an instalment: one payment pays once."""
    kinds: dict[str, type[Message]] = {
        pay.PaymentReleased.DESCRIPTOR.full_name: pay.PaymentReleased,
        pay.PaymentConfirmed.DESCRIPTOR.full_name: pay.PaymentConfirmed,
        pay.InstalmentPaid.DESCRIPTOR.full_name: pay.InstalmentPaid,
    }
    e: Any = _unpack(env, kinds[env.type])
    move = _movement(env, e.context, e.streams, +1)
    await read_model.put_payment_move(conn, f"paid:{e.payment_id}", "paid", move)


async def _returned(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, pay.ReturnRecorded)
    move = _movement(env, e.context, e.streams, -1)
    await read_model.put_payment_move(conn, f"return:{e.return_id}", "returned", move)


async def _repaid(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    # A repayment is received in parts; each receipt is its own event (keyed by its id).
    e = _unpack(env, pay.RepaymentReceived)
    move = _movement(env, e.context, e.streams, -1)
    await read_model.put_payment_move(conn, f"repaid:{env.event_id}", "repaid", move)
    # The received money went on to the funders (issue 13 item 12): the budget holds less.
    await _to_funders(conn, f"repaid:{env.event_id}", move, e.returned_to_funders)


async def _cancelled(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    """A hold released after its budget ended went on to the funders (issue 13 item 13)."""
    e = _unpack(env, pay.PaymentCancelled)
    if e.returned_to_funders:
        move = _movement(env, e.context, e.streams, -1)
        await _to_funders(conn, f"cancelled:{e.payment_id}", move, e.returned_to_funders)


async def _to_funders(
    conn: asyncpg.Connection, key: str, move: Movement, returns: Sequence[pay.FundsReturned]
) -> None:
    back = {"NHS": 0, "COUNCIL": 0, "CLIENT": 0}
    for r in returns:
        if r.funding_stream not in back:
            raise PoisonEvent(f"a funds return on an unknown stream {r.funding_stream!r}")
        back[r.funding_stream] += r.amount_pence
    if any(back.values()):
        returned = Movement(
            move.budget_id, move.on, -back["NHS"], -back["COUNCIL"], -back["CLIENT"]
        )
        await read_model.put_funder_return(conn, key, returned)
    # NHS money back to a ring-fence or the general allocation: each ring-fence's drawn and
    # balance figures follow it, as they follow an end's or a cut's NhsFunding (issue 13).
    draws: list[NhsDraw] = []
    accounts: list[str] = []
    for r in returns:
        if r.funding_stream != "NHS" or not r.amount_pence:
            continue
        if r.passed_on_to_account_id or r.account_kind != "ring_fence":
            # A closed year's ring-fence passed it on: it rests in the general allocation.
            account, ring_fence = r.passed_on_to_account_id or r.account_id, False
        else:
            account, ring_fence = r.account_id, True
        # The ring-fence's cohort is read with the figures (read_model._nhs_draws), by account.
        draws.append(NhsDraw(move.budget_id, move.on, ring_fence, "", -r.amount_pence))
        accounts.append(account)
    if draws:
        await read_model.put_nhs_funding_return(conn, key, draws, accounts)


# -- entitlement ---------------------------------------------------------------------------------


def _category(value: int) -> str:
    return str(en.EligibilityCategory.Name(value)).removeprefix("ELIGIBILITY_CATEGORY_")


async def _phb_requested(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    e = _unpack(env, en.PersonalHealthBudgetRequested)
    await read_model.put_phb_request(
        conn,
        e.phb_request_id,
        e.person_id,
        e.commissioner_ods_code,
        _category(e.category),
        e.child,
        _date(e.requested_on),
    )


async def _phb_decided(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    decided, reconsidered = en.PersonalHealthBudgetRequestDecided, en.ReconsiderationDecided
    kinds: dict[str, type[Message]] = {
        decided.DESCRIPTOR.full_name: decided,
        reconsidered.DESCRIPTOR.full_name: reconsidered,
    }
    e: Any = _unpack(env, kinds[env.type])
    outcome = str(en.DecisionOutcome.Name(e.outcome)).removeprefix("DECISION_OUTCOME_")
    await read_model.put_phb_decision(
        conn,
        e.phb_request_id,
        e.person_id,
        e.commissioner_ods_code,
        _category(e.category),
        e.child,
        outcome,
        _date(e.decided_on),
    )


async def _born(conn: asyncpg.Connection, env: envelope_pb2.EventEnvelope) -> None:
    """A date of birth, to judge child or adult on each return's last day (issue 13 item 15)."""
    kinds: dict[str, type[Message]] = {
        en.PersonRegistered.DESCRIPTOR.full_name: en.PersonRegistered,
        en.PersonDetailsUpdated.DESCRIPTOR.full_name: en.PersonDetailsUpdated,
    }
    e: Any = _unpack(env, kinds[env.type])
    born = _date(_birth_date_text(e))
    if born is None or not e.person_id:
        return
    correction = env.type == en.PersonDetailsUpdated.DESCRIPTOR.full_name
    await read_model.put_birth_date(conn, e.person_id, born, correction=correction)


def _birth_date_text(e: Any) -> str:
    """The event's date of birth: sealed (issue 14; opened with the personal-data key,
    shared/sealing.py), or in clear in an event published before. "" when there is none or it
    does not open here (no key, another key): the person is then judged a child by the
    eligibility decision's flag."""
    if e.date_of_birth_sealed:
        key = sealing.configured_key()
        if key is None:
            return ""
        try:
            return sealing.unseal(key, e.date_of_birth_sealed, e.person_id)
        except sealing.SealError:
            _log.warning("birth_date_unopened", person_id=e.person_id)
            return ""
    return str(e.date_of_birth)


def _name(message: type[Message]) -> str:
    return str(message.DESCRIPTOR.full_name)


HANDLERS: dict[str, Handler] = {
    _name(al.CommissionerAllocationSet): _allocation_set,
    _name(al.FinancialYearClosed): _year_closed,
    _name(al.CouncilAllocationSet): _council_pot,
    _name(al.BudgetCreated): _budget_created,
    _name(al.BudgetAgreed): _budget_agreed,
    _name(al.BudgetRevised): _budget_revised,
    _name(al.BudgetEnded): _budget_ended,
    _name(pay.PaymentReleased): _paid,
    _name(pay.PaymentConfirmed): _paid,
    _name(pay.InstalmentPaid): _paid,
    _name(pay.ReturnRecorded): _returned,
    _name(pay.RepaymentReceived): _repaid,
    _name(pay.PaymentCancelled): _cancelled,
    _name(en.PersonalHealthBudgetRequested): _phb_requested,
    _name(en.PersonRegistered): _born,
    _name(en.PersonDetailsUpdated): _born,
    _name(en.PersonalHealthBudgetRequestDecided): _phb_decided,
    _name(en.ReconsiderationDecided): _phb_decided,
}


async def apply(conn: asyncpg.Connection, envelope: envelope_pb2.EventEnvelope) -> None:
    """The consumers' handler: apply one event's facts (or ignore an event we do not need)."""
    handler = HANDLERS.get(envelope.type)
    if handler is not None:
        await handler(conn, envelope)
