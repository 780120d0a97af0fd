"""Releases and reservations through one command batcher (design.md: group commit and atomicity
fit together at the level of a whole command).

Concurrent commands queue; a worker takes up to `batch_size_max` (waiting at most `wait_ms_max`
for company) and, in ONE transaction: claims their request ids, reads budgets, plan lines
(locked), payees and the budget accounts' balances once, decides each command in memory, creates
every survivor's linked stream transfers with one `create_transfer_groups` call, writes payment
rows, plan-line totals, outbox events and idempotency responses with set-based statements, and
commits. Then each caller's future resolves. A refused command leaves no row and fails only
itself; the round trips are per batch, not per command.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from onebudget.events.v1 import payment_pb2 as ev
from onebudget.payment.adapters import repository as repo
from onebudget.payment.adapters.accounts import payee_account_id, transfer_id
from onebudget.payment.config import PaymentSettings
from onebudget.payment.domain import errors
from onebudget.payment.domain.model import (
    STREAMS,
    PaymentKind,
    PaymentState,
    check_funds,
    check_payment,
    split,
)
from onebudget.payment.service_layer import mapping
from onebudget.payment.service_layer.outgoing import event
from onebudget.payment.service_layer.validation import PaymentFields
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import ledger
from onebudget.shared.aio import cancel_and_wait
from onebudget.shared.errors import AlreadyExists, DomainError, FailedPrecondition
from onebudget.shared.ledger import CreateTransferResult as R
from onebudget.shared.ledger import Transfer
from onebudget.shared.outbox import OutgoingEvent


@dataclass
class Command:
    request_id: str
    method: str
    digest: bytes
    fields: PaymentFields
    reserve: bool
    done: asyncio.Future[api.Payment] = field(repr=False)


@dataclass
class BatchStats:
    """Timing counters (the benchmark's profile of where a batch's time goes)."""

    batches: int = 0
    commands: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[step] += now - since
        return now


@dataclass
class _Accepted:
    command: Command
    payment_id: uuid.UUID
    parts: tuple[int, int, int]


class ReleaseBatcher:
    def __init__(self, pool: asyncpg.Pool, settings: PaymentSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._queue: asyncio.Queue[Command] = asyncio.Queue(settings.queue_size_max)
        self._workers: list[asyncio.Task[None]] = []
        self.stats = BatchStats()

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"payment-batcher-{i}")
                for i in range(self._settings.batch_workers)
            ]

    async def stop(self) -> None:
        await cancel_and_wait(self._workers)
        self._workers = []

    def submit(
        self, command_args: tuple[str, str, bytes, PaymentFields, bool]
    ) -> asyncio.Future[api.Payment]:
        """Queue one command; its future resolves after its batch commits."""
        self.start()
        done: asyncio.Future[api.Payment] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Command(*command_args, done=done))
        return done

    async def _gather(self) -> list[Command]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self._settings.wait_ms_max / 1000
        while len(batch) < self._settings.batch_size_max:
            if self._queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, 0.0005))
                continue
            batch.append(self._queue.get_nowait())
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._gather()
            try:
                outcomes = await self._run(batch)
            except Exception as error:  # every caller of the batch learns it failed
                outcomes = [error] * len(batch)
            for command, outcome in zip(batch, outcomes, strict=True):
                if command.done.done():
                    continue
                if isinstance(outcome, BaseException):
                    command.done.set_exception(outcome)
                else:
                    command.done.set_result(outcome)

    async def _run(self, batch: list[Command]) -> list[api.Payment | Exception]:
        self.stats.batches += 1
        self.stats.commands += len(batch)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                outcomes = await _Batch(conn, batch, self._settings, self.stats).run()
                t = time.perf_counter()
            self.stats.add("commit", t)
        return outcomes


class _Batch:
    """One transaction's worth of commands."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        commands: list[Command],
        settings: PaymentSettings,
        stats: BatchStats,
    ) -> None:
        self.conn = conn
        self.commands = commands
        self.settings = settings
        self.stats = stats
        self.outcomes: list[api.Payment | Exception | None] = [None] * len(commands)
        self._duplicates: list[tuple[int, int]] = []  # (index, index of the same request_id)
        self.now = datetime.now(UTC)
        self.today = self.now.date()

    async def run(self) -> list[api.Payment | Exception]:
        t = time.perf_counter()
        fresh = await self._claim()
        self.stats.add("claim", t)
        if fresh:
            await self._decide_and_write(fresh)
        for i, j in self._duplicates:
            self.outcomes[i] = self.outcomes[j]
        out: list[api.Payment | Exception] = []
        for outcome in self.outcomes:
            assert outcome is not None
            out.append(outcome)
        return out

    async def _claim(self) -> list[int]:
        """Claim each request id once; replay stored answers; return the fresh commands."""
        first: dict[str, int] = {}
        for i, c in enumerate(self.commands):
            first.setdefault(c.request_id, i)
        ids = sorted(first)
        claimed = await repo.claim_requests(
            self.conn,
            ids,
            [self.commands[first[r]].method for r in ids],
            [self.commands[first[r]].digest for r in ids],
        )
        replays = [r for r in ids if r not in claimed]
        stored = await repo.stored_requests(self.conn, replays) if replays else {}
        fresh: list[int] = []
        for i, c in enumerate(self.commands):
            if first[c.request_id] != i:
                continue  # a duplicate in the same batch: answered with its first, below
            if c.request_id in claimed:
                fresh.append(i)
            else:
                self.outcomes[i] = _replay(c, stored.get(c.request_id))
        self._duplicates = [
            (i, first[c.request_id])
            for i, c in enumerate(self.commands)
            if first[c.request_id] != i
        ]
        return fresh

    async def _decide_and_write(self, fresh: list[int]) -> None:
        conn = self.conn
        t = time.perf_counter()
        commands = [self.commands[i] for i in fresh]
        asks = [c.fields.ask for c in commands]
        budgets = await repo.budgets(conn, list({a.budget_id for a in asks}))
        lines = await repo.plan_lines(conn, [a.plan_line_id for a in asks], for_update=True)
        payees = await repo.payees(conn, list({a.payee_id for a in asks}))
        account_ids = {a for b in budgets.values() for a in b.budget.accounts if a is not None}
        available = await ledger.available_balances(conn, list(account_ids))
        t = self.stats.add("read", t)
        committed = {lid: line.committed_pence for lid, line in lines.items()}
        accepted: list[tuple[int, _Accepted]] = []
        groups: list[list[Transfer]] = []
        for i, c in zip(fresh, commands, strict=True):
            outcome = self._decide(c, budgets, lines, payees, available, committed)
            if isinstance(outcome, DomainError):
                self.outcomes[i] = outcome
                continue
            accepted.append((i, outcome))
            groups.append(self._transfers(outcome, budgets[c.fields.ask.budget_id].budget.accounts))
        t = self.stats.add("decide", t)
        # The payment rows go in before the ledger call, so the ledger's chain head (one writer
        # at a time) is held only for the transfers and the commit, not for these writes too. A
        # savepoint undoes them when the ledger refuses a command the in-memory decision
        # accepted (another writer moved the balance in between; outbox rows are never
        # deleted), and the survivors are written again.
        pending = list(zip(accepted, groups, strict=True))
        while pending:
            await conn.execute("SAVEPOINT release_batch")
            await self._write([a for a, _ in pending], budgets, lines, payees)
            t = self.stats.add("write", t)
            results = await ledger.create_transfer_groups(conn, [g for _, g in pending])
            t = self.stats.add("ledger", t)
            refused = {
                k for k, result in enumerate(results) if not all(r is R.OK for r in result)
            }
            if not refused:
                break
            await conn.execute("ROLLBACK TO SAVEPOINT release_batch")
            for k in refused:
                self.outcomes[pending[k][0][0]] = _ledger_refusal(results[k])
            pending = [p for k, p in enumerate(pending) if k not in refused]
        refused_ids = [
            self.commands[i].request_id for i in fresh if isinstance(self.outcomes[i], Exception)
        ]
        await repo.drop_claims(conn, refused_ids)
        self.stats.add("write", t)

    def _decide(
        self,
        c: Command,
        budgets: dict[uuid.UUID, repo.BudgetContext],
        lines: dict[uuid.UUID, Any],
        payees: dict[uuid.UUID, Any],
        available: dict[uuid.UUID, int],
        committed: dict[uuid.UUID, int],
    ) -> _Accepted | DomainError:
        ask = c.fields.ask
        ctx = budgets.get(ask.budget_id)
        line = lines.get(ask.plan_line_id)
        refused = check_payment(
            ask,
            budget=ctx.budget if ctx else None,
            line=line,
            payee=payees.get(ask.payee_id),
            stopped=ctx.stopped if ctx else False,
            excluded_categories=self.settings.excluded_categories,
            line_committed_pence=committed.get(ask.plan_line_id, 0),
            today=self.today,
        )
        if refused is not None:
            return refused
        assert ctx is not None
        assert line is not None
        parts = split(ask.amount_pence, line)
        accounts = ctx.budget.accounts
        have = {s: available.get(a, 0) if a else 0 for s, a in zip(STREAMS, accounts, strict=True)}
        short = check_funds(parts, have)
        if short is not None:
            return short
        for account, part in zip(accounts, parts, strict=True):
            if part and account is not None:
                available[account] -= part
        committed[ask.plan_line_id] = committed.get(ask.plan_line_id, 0) + ask.amount_pence
        return _Accepted(c, uuid.uuid4(), parts)

    def _transfers(self, acc: _Accepted, accounts: tuple[uuid.UUID | None, ...]) -> list[Transfer]:
        ask = acc.command.fields.ask
        reserve = acc.command.reserve
        what = "reserve" if reserve else "pay"
        reason = "reservation" if reserve else "payment"
        timeout_s = self.settings.reservation_timeout_s if reserve else 0
        budget_ref, line_ref, payment_ref = (
            str(ask.budget_id),
            str(ask.plan_line_id),
            str(acc.payment_id),
        )
        moving = [
            (stream, account, part)
            for stream, account, part in zip(STREAMS, accounts, acc.parts, strict=True)
            if part
        ]
        last = len(moving) - 1
        moves: list[Transfer] = []
        for k, (stream, account, part) in enumerate(moving):
            assert account is not None
            moves.append(
                Transfer(
                    id=transfer_id(acc.payment_id, what, stream),
                    debit_account_id=account,
                    credit_account_id=payee_account_id(ask.payee_id, stream),
                    amount=part,
                    reason=reason,
                    budget_ref=budget_ref,
                    plan_line_ref=line_ref,
                    payment_ref=payment_ref,
                    pending=reserve,
                    timeout_s=timeout_s,
                    # A linked chain: every stream's part moves, or none does.
                    linked=k < last,
                )
            )
        return moves

    async def _write(
        self,
        survivors: list[tuple[int, _Accepted]],
        budgets: dict[uuid.UUID, repo.BudgetContext],
        lines: dict[uuid.UUID, Any],
        payees: dict[uuid.UUID, Any],
    ) -> None:
        if not survivors:
            return
        rows: list[dict[str, Any]] = []
        events: list[OutgoingEvent] = []
        for i, acc in survivors:
            row = self._row(acc)
            rows.append(row)
            message = mapping.payment_message(row)
            self.outcomes[i] = message
            ask = acc.command.fields.ask
            ctx = mapping.context(budgets[ask.budget_id].budget, lines[ask.plan_line_id])
            events.append(self._event(acc, row, ctx, payees[ask.payee_id].kind))
        await repo.write_releases(
            self.conn,
            rows,
            (
                [acc.command.fields.ask.plan_line_id for _, acc in survivors],
                [acc.command.fields.ask.amount_pence for _, acc in survivors],
            ),
            (
                [uuid.UUID(e.event_id) for e in events],
                [e.subject for e in events],
                [e.envelope.SerializeToString() for e in events],
            ),
            (
                [acc.command.request_id for _, acc in survivors],
                [_serialized(self.outcomes[i]) for i, _ in survivors],
            ),
        )

    def _row(self, acc: _Accepted) -> dict[str, Any]:
        c = acc.command
        ask = c.fields.ask
        nhs, council, client = acc.parts
        reserve = c.reserve
        return {
            "payment_id": acc.payment_id,
            "request_id": c.request_id,
            "kind": PaymentKind.RESERVATION if reserve else PaymentKind.RELEASE,
            "state": PaymentState.RESERVED if reserve else PaymentState.RELEASED,
            "budget_id": ask.budget_id,
            "plan_line_id": ask.plan_line_id,
            "payee_id": ask.payee_id,
            "amount_pence": 0 if reserve else ask.amount_pence,
            "nhs_pence": 0 if reserve else nhs,
            "council_pence": 0 if reserve else council,
            "client_pence": 0 if reserve else client,
            "reserved_pence": ask.amount_pence if reserve else 0,
            "reserved_nhs_pence": nhs if reserve else 0,
            "reserved_council_pence": council if reserve else 0,
            "reserved_client_pence": client if reserve else 0,
            "service_period_start": c.fields.period_start,
            "service_period_end": c.fields.period_end,
            "broker_reference": c.fields.broker_reference,
            "schedule_id": None,
            "instalment_no": None,
            "expires_at": (
                self.now + timedelta(seconds=self.settings.reservation_timeout_s)
                if reserve
                else None
            ),
            "created_at": self.now,
        }

    def _event(
        self, acc: _Accepted, row: dict[str, Any], ctx: ev.PaymentContext, payee_kind: str
    ) -> OutgoingEvent:
        c = acc.command
        ask = c.fields.ask
        common: dict[str, Any] = {
            "payment_id": str(acc.payment_id),
            "context": ctx,
            "payee_id": str(ask.payee_id),
            "payee_kind": str(payee_kind),
            "amount_pence": ask.amount_pence,
            "streams": mapping.event_streams(acc.parts),
            "service_period_start": mapping.iso(c.fields.period_start),
            "service_period_end": mapping.iso(c.fields.period_end),
            "broker_reference": c.fields.broker_reference,
        }
        payload: Any
        if c.reserve:
            payload = ev.PaymentReserved(expire_time=mapping.timestamp(row["expires_at"]), **common)
        else:
            payload = ev.PaymentReleased(**common)
        return event(payload, "payment", acc.payment_id, 1, c.request_id)


def _serialized(outcome: object) -> bytes:
    assert isinstance(outcome, api.Payment)
    return outcome.SerializeToString()


def _replay(c: Command, stored: Any) -> api.Payment | Exception:
    if stored is None or stored["response"] is None:
        # Claimed by a transaction that rolled back in between: ask the caller to retry.
        return FailedPrecondition(
            reason="REQUEST_IN_FLIGHT", message="the same request_id is being processed; retry"
        )
    if stored["method"] != c.method or stored["request_hash"] != c.digest:
        return AlreadyExists(
            reason="REQUEST_ID_REUSED",
            message="this request_id was already used for a different request",
            metadata={"request_id": c.request_id, "first_method": stored["method"]},
        )
    return api.Payment.FromString(stored["response"])


def _ledger_refusal(result: list[R]) -> DomainError:
    """The ledger refused what the in-memory decision accepted (a concurrent writer moved the
    balance in between): the same business answer, with the ledger's code."""
    failed = next(r for r in result if r not in (R.OK, R.LINKED_EVENT_FAILED))
    if failed is R.EXCEEDS_AVAILABLE_BALANCE:
        return FailedPrecondition(
            reason=errors.INSUFFICIENT_FUNDS,
            message="a funding stream of the budget has too little available",
            metadata={"ledger_result": failed.value},
        )
    return FailedPrecondition(
        reason=errors.BUDGET_NOT_ACTIVE,
        message="the ledger refused the payment's transfers",
        metadata={"ledger_result": failed.value},
    )
