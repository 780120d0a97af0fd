"""Releases and reservations through one command batcher (design.md: group commit and atomicity
fit together at the level of a whole command).

Concurrent commands queue; a worker takes up to `batch_size_max` (waiting at most `wait_ms_max`
for company) and, in ONE transaction: claims their request ids, reads budgets, plan lines
(locked), payees and the budget accounts' balances once, decides each command in memory, writes
payment rows, plan-line totals, outbox events and idempotency responses with set-based
statements, creates every survivor's linked stream transfers with one ledger call (decided on the
batcher's LedgerView, so the chain head is held only from that call to the commit), and
commits. Then each caller's future resolves. A refused command leaves no row and fails only
itself; the round trips are per batch, not per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import asyncpg

from onebudget import ledger
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import CreateTransferResult as R
from onebudget.ledger import Transfer
from onebudget.ledger import reads as ledger_reads
from onebudget.ledger.chart import payee_account_id
from onebudget.payment.adapters import repository as repo
from onebudget.payment.config import PaymentSettings
from onebudget.payment.domain.ids import new_payment_id, transfer_id
from onebudget.payment.domain.model import (
    STREAMS,
    Accepted,
    BudgetContext,
    Parts,
    decide_payments,
    is_money_refusal,
    refusal_after_ledger,
)
from onebudget.payment.service_layer import mapping
from onebudget.payment.service_layer.outgoing import SCHEMA, event
from onebudget.payment.service_layer.validation import PaymentFields
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import audit, tracing
from onebudget.shared.aio import (
    cancel_and_wait,
    current_supervision,
    report_ok,
    report_trouble,
    supervise,
)
from onebudget.shared.audit_log import append as append_audit
from onebudget.shared.audit_log import mark_recorded
from onebudget.shared.clock import Clock, england_date
from onebudget.shared.errors import DomainError
from onebudget.shared.grpc_edge import status_code_for
from onebudget.shared.identity import Actor, acting_as, current_actor
from onebudget.shared.logging import get_logger
from onebudget.shared.metrics import (
    count_ledger_transfers,
    counting_ledger_transfers,
    observe_batch,
)
from onebudget.shared.request_keys import (
    IdempotencyKey,
    RequestIdExpired,
    RequestIdOfAnotherCaller,
    RequestIdReused,
    RequestInFlight,
    StoredRequest,
    replay,
    same_caller,
    same_request,
)
from onebudget.shared.transient import is_transient

_log = get_logger("onebudget.payment.batcher")


# A batch reads and writes its rows by key only. Its statements are prepared once per
# connection and their plans kept; planned while a table is small (a fresh service: payment's
# request-id look-up against a handful of payments) PostgreSQL picks a sequential scan and keeps
# it as the table grows, so each batch then reads every payment ever made (the bulk bench's
# claim step: 30 ms a batch before the look-up existed, 276 ms after). As the ledger's functions
# do (ledger migration 0004), the batch's transaction plans with index lookups only. Set once
# on the connection a worker holds from batch to batch (issue 17: one round trip fewer per
# batch, where it was a `SET LOCAL` in each batch's transaction); the pool's reset (RESET ALL)
# takes it off when the worker gives the connection back.
INDEX_LOOKUPS_ONLY = "SET enable_seqscan = off"


@dataclass(slots=True)
class Command:
    request_id: str  # canonical (shared/request_keys.py)
    method: str
    digest: bytes
    fields: PaymentFields
    reserve: bool
    sent: bytes = b""  # the request as sent (IdempotencyKey.sent)
    # The caller's trace context (shared/tracing.py): the batch runs in another task, so the
    # command carries it to its events.
    trace: tuple[str, str] = tracing.NO_TRACE
    # Who asked (shared/identity.py), taken when the call made the command: the batch runs in
    # a worker task, where current_actor() is not the caller's.
    actor: Actor = field(default_factory=current_actor)

    @classmethod
    def of(cls, key: IdempotencyKey, fields: PaymentFields, reserve: bool) -> Command:
        return cls(
            key.request_id,
            key.method,
            key.digest,
            fields,
            reserve,
            key.sent,
            tracing.current_trace(),
        )

    @property
    def key(self) -> IdempotencyKey:
        return IdempotencyKey(self.request_id, self.method, self.digest, self.sent)


Outcome = api.Payment | Exception
IDLE_S = 0.05  # a batch worker gives its connection back after this long without work
NO_CONNECTION_BACKOFF_S = 0.2  # a worker that could not get a connection waits this long


@dataclass(slots=True)
class _Unit:
    """What one caller waits for: a unary call's one command, or a bulk call's commands (one
    future for the lot, so a bulk call costs one queue entry and one wake-up, not one each)."""

    commands: list[Command]
    single: bool
    done: asyncio.Future[Any] = field(repr=False)

    def resolve(self, outcomes: list[Outcome]) -> None:
        if self.done.done():
            return
        if not self.single:
            self.done.set_result(outcomes)
        elif isinstance(outcomes[0], Exception):
            self.done.set_exception(outcomes[0])
        else:
            self.done.set_result(outcomes[0])

    def fail(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)


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
    parts: Parts


class ReleaseBatcher:
    def __init__(self, pool: asyncpg.Pool, settings: PaymentSettings, clock: Clock) -> None:
        self._pool = pool
        self._settings = settings
        self._clock = clock
        self._queue: asyncio.Queue[_Unit] = asyncio.Queue(settings.queue_size_max)
        self._carried: _Unit | None = None  # taken from the queue, did not fit in its batch
        # The ledger as this service last saw it, shared by the workers: each batch's transfers
        # are decided on it before the ledger call, so the chain head (one writer at a time) is
        # held from that call to the commit only, not while Python decides (ADR 2).
        self._view = ledger.LedgerView()
        self._workers: list[asyncio.Task[None]] = []
        # The workers start at the first call, from an RPC: made here, inside ServiceHost's
        # start, the supervision this captures is the service's, so health sees the workers.
        self._parent = current_supervision()
        # ... and so is the actor: the workers act as the service (issue 14), never as the
        # caller whose call happened to start them (a task keeps the context it was made in).
        self._actor = current_actor()
        self.stats = BatchStats()

    def start(self) -> None:
        if not self._workers:
            with acting_as(self._actor):
                self._workers = [
                    asyncio.create_task(
                        supervise(f"payment.batcher-{i}", self._work, parent=self._parent),
                        name=f"payment-batcher-{i}",
                    )
                    for i in range(self._settings.batch_workers)
                ]

    async def stop(self) -> None:
        await cancel_and_wait(self._workers)
        self._workers = []

    def submit(self, command: Command) -> asyncio.Future[api.Payment]:
        """Queue one command; its future resolves after its batch commits."""
        self.start()
        done: asyncio.Future[api.Payment] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Unit([command], True, done))
        return done

    async def run_many(self, commands: list[Command]) -> list[Outcome]:
        """A bulk call's commands, queued in chunks of `batch_size_max`: each chunk goes in one
        batch (one transaction, one ledger call) and costs one queue entry and one wake-up, not
        one per command. One outcome per command, in order, once every chunk has committed.
        Chunks let two workers share a big call (one writes while the other commits)."""
        self.start()
        loop = asyncio.get_running_loop()
        size = self._settings.batch_size_max
        futures: list[asyncio.Future[list[Outcome]]] = []
        for at in range(0, len(commands), size):
            done: asyncio.Future[list[Outcome]] = loop.create_future()
            self._queue.put_nowait(_Unit(commands[at : at + size], False, done))
            futures.append(done)
        outcomes: list[Outcome] = []
        for chunk in await asyncio.gather(*futures):
            outcomes.extend(chunk)
        return outcomes

    async def _next(self) -> _Unit:
        unit, self._carried = self._carried, None
        return unit if unit is not None else await self._queue.get()

    async def _gather(self, first: _Unit) -> list[_Unit]:
        batch = [first]
        size = len(first.commands)
        deadline = time.monotonic() + self._settings.wait_ms_max / 1000
        while size < self._settings.batch_size_max:
            if self._queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, 0.0005))
                continue
            unit = self._queue.get_nowait()
            if size + len(unit.commands) > self._settings.batch_size_max:
                self._carried = unit  # a bulk chunk is never split across transactions
                break
            batch.append(unit)
            size += len(unit.commands)
        return batch

    async def _work(self) -> None:
        while True:
            pending: _Unit | None = await self._next()  # idle: no connection held
            # Busy: the worker keeps its connection from batch to batch (no pool reset round
            # trip per batch) and gives it back after IDLE_S without work, or when it broke.
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute(INDEX_LOOKUPS_ONLY)  # every batch on it plans so
                    while pending is not None:
                        units = await self._gather(pending)
                        pending = None
                        if not await self._one_batch(conn, units) or conn.is_closed():
                            # A failed batch gives its connection back: when PostgreSQL went
                            # away, asyncpg may detach it from this worker only after the
                            # failure, and the next batch on it would fail as INTERNAL
                            # ("released back to the pool": seen by the chaos run).
                            break
                        with contextlib.suppress(TimeoutError):
                            pending = await asyncio.wait_for(self._next(), IDLE_S)
            except Exception as error:
                # No connection could be had (the database is restarting) or giving a broken
                # one back failed: the caller waiting on `pending` learns it (the edge answers
                # UNAVAILABLE, retry with the same request_id) and this worker lives on. A
                # worker that died here would leave every later payment waiting for ever.
                if pending is not None:
                    pending.fail(error)
                report_trouble(error)  # health names this worker until a batch commits
                _log.warning("payment_batcher_no_connection", error=repr(error))
                await asyncio.sleep(NO_CONNECTION_BACKOFF_S)

    async def _one_batch(self, conn: asyncpg.Connection, units: list[_Unit]) -> bool:
        """Run one batch; False when it failed (its callers learn why)."""
        commands = [c for u in units for c in u.commands]
        try:
            outcomes = await self._run(conn, commands)
        except Exception as error:  # every caller of the batch learns it failed
            failure: Exception = error
            if isinstance(error, asyncpg.InterfaceError) and "released back to the pool" in str(
                error
            ):
                # PostgreSQL went away while this worker held the connection idle and asyncpg
                # took it back: nothing was begun, so the callers retry (UNAVAILABLE), never
                # INTERNAL (seen by the chaos run).
                failure = ConnectionResetError("the database connection was lost")
            for unit in units:
                unit.fail(failure)
            if is_transient(failure):
                report_trouble(failure)
            return False
        report_ok()
        at = 0
        for unit in units:
            n = len(unit.commands)
            unit.resolve(outcomes[at : at + n])
            at += n
        return True

    async def _run(self, conn: asyncpg.Connection, batch: list[Command]) -> list[Outcome]:
        self.stats.batches += 1
        self.stats.commands += len(batch)
        observe_batch("payment", "release", len(batch))
        try:
            # Counted below from the round the ledger took whole, not by the ledger's calls:
            # a refused round is rolled back to its savepoint.
            with counting_ledger_transfers("payment", None):
                async with conn.transaction():
                    work = _Batch(conn, batch, self._settings, self.stats, self._view, self._clock)
                    outcomes = await work.run()
                    t = time.perf_counter()
        except BaseException:
            self._view.clear()  # it holds what this transaction planned and did not commit
            raise
        self.stats.add("commit", t)
        # Committed: the transfers the batch kept (a round the ledger refused was rolled back).
        count_ledger_transfers("payment", "release", work.transfers_written)
        return outcomes


class _Batch:
    """One transaction's worth of commands."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        commands: list[Command],
        settings: PaymentSettings,
        stats: BatchStats,
        view: ledger.LedgerView,
        clock: Clock,
    ) -> None:
        self.conn = conn
        self.view = view
        self.commands = commands
        self.settings = settings
        self.stats = stats
        self.outcomes: list[Outcome | None] = [None] * len(commands)
        self.transfers_written = 0  # by the round the ledger took whole
        self._duplicates: list[tuple[int, int]] = []  # (index, index of the same request_id)
        self._replayed: set[int] = set()  # commands answered with a stored (or first) answer
        self.now = clock.now()
        self.today = england_date(self.now)  # England's date at the batch's one instant

    async def run(self) -> list[Outcome]:
        t = time.perf_counter()
        fresh = await self._claim()
        self.stats.add("claim", t)
        if fresh:
            await self._decide_and_write(fresh)
        for i, j in self._duplicates:
            self.outcomes[i] = self.outcomes[j]
            self._replayed.add(i)
        out: list[Outcome] = []
        for outcome in self.outcomes:
            assert outcome is not None
            out.append(outcome)
        await self._audit(out)
        return out

    async def _audit(self, outcomes: list[Outcome]) -> None:
        """One audit record per command, accepted or refused, in one statement, the batch's
        last (ADR 17): the ledger's head is locked before the trail's, and each refusal is
        marked recorded, so the edge does not record it a second time."""
        entries: list[audit.AuditEntry] = []
        for i, (c, outcome) in enumerate(zip(self.commands, outcomes, strict=True)):
            resource = f"budgets/{c.fields.ask.budget_id}"
            if isinstance(outcome, DomainError):
                code, reason = status_code_for(outcome).name, outcome.reason
                mark_recorded(outcome)
            else:
                code, reason = audit.OK, audit.REPLAYED if i in self._replayed else ""
            entries.append(
                audit.actor_entry(c.actor, c.method, c.request_id, resource, code, reason)
            )
        await append_audit(self.conn, SCHEMA, entries)

    async def _claim(self) -> list[int]:
        """Claim each request id once; replay stored answers; return the fresh commands.

        A request id an earlier batch took: each command with it is compared with the stored
        row (`replay`). A request id first claimed here and met again in this batch:
        `same_request` decides, a retry of the first gets the first's answer (whatever it is,
        set in `run`), another request is refused REQUEST_ID_REUSED and the first goes on. No
        round trip per command."""
        first: dict[str, int] = {}
        for i, c in enumerate(self.commands):
            first.setdefault(c.request_id, i)
        ids = sorted(first)
        claimed, paid = await repo.claim_requests(
            self.conn,
            ids,
            [self.commands[first[r]].method for r in ids],
            [self.commands[first[r]].digest for r in ids],
            [self.commands[first[r]].actor.subject for r in ids],
        )
        replays = [r for r in ids if r not in claimed]
        stored = await repo.stored_requests(self.conn, replays) if replays else {}
        fresh: list[int] = []
        self._duplicates = []
        for i, c in enumerate(self.commands):
            j = first[c.request_id]
            if c.request_id not in claimed:  # an earlier batch's: each is compared with it
                self.outcomes[i] = _replay(c, stored.get(c.request_id), c.request_id in paid)
                self._replayed.add(i)
            elif j == i:
                fresh.append(i)
            else:
                try:
                    # Another caller's request_id is refused before the requests are compared.
                    same_caller(self.commands[j].actor.subject, c.actor.subject, c.request_id)
                    same_request(self.commands[j].key, c.key)
                except (RequestIdReused, RequestIdOfAnotherCaller) as error:
                    self.outcomes[i] = error
                else:
                    self._duplicates.append((i, j))  # answered with its first, in `run`
        return fresh

    async def _decide_and_write(self, fresh: list[int]) -> None:
        conn = self.conn
        t = time.perf_counter()
        commands = [self.commands[i] for i in fresh]
        asks = [c.fields.ask for c in commands]
        budgets = await repo.budgets(conn, list({a.budget_id for a in asks}))
        lines = await repo.plan_lines(conn, [a.plan_line_id for a in asks], for_update=True)
        payees = await repo.payees(conn, list({a.payee_id for a in asks}))
        # Only the stream accounts a payment can draw on: a stream with no share of its line
        # never moves (the split gives it 0), so its balance is never looked at.
        account_ids: set[uuid.UUID] = set()
        for a in asks:
            ctx, line = budgets.get(a.budget_id), lines.get(a.plan_line_id)
            if ctx is not None and line is not None:
                account_ids.update(
                    account
                    for account, bp in zip(ctx.budget.accounts, line.basis_points, strict=True)
                    if bp and account is not None
                )
        available = await ledger.available_balances(conn, list(account_ids))
        t = self.stats.add("read", t)
        decisions = self._decide(asks, budgets, lines, payees, available)
        if any(not isinstance(d, Accepted) and is_money_refusal(d) for d in decisions):
            # State before money: a budget ended in the ledger before this service saw the
            # event is refused as not active, not as short (rare: read on refusal only).
            budgets = await with_ledger_end(conn, budgets)
            decisions = self._decide(asks, budgets, lines, payees, available)
        accepted: list[tuple[int, _Accepted]] = []
        groups: list[list[Transfer]] = []
        for i, c, decision in zip(fresh, commands, decisions, strict=True):
            if not isinstance(decision, Accepted):
                self.outcomes[i] = decision
                continue
            outcome = _Accepted(c, new_payment_id(), decision.parts)
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
            results = await ledger.create_transfer_groups_viewed(
                conn, self.view, [g for _, g in pending]
            )
            t = self.stats.add("ledger", t)
            refused = {k for k, result in enumerate(results) if not all(r is R.OK for r in result)}
            if not refused:
                self.transfers_written = sum(len(g) for _, g in pending)
                break
            await conn.execute("ROLLBACK TO SAVEPOINT release_batch")
            self.view.clear()  # it holds the transfers just rolled back
            now = await with_ledger_end(conn, await repo.budgets(conn, list(budgets)))
            for k in refused:
                ask = pending[k][0][1].command.fields.ask
                self.outcomes[pending[k][0][0]] = refusal_after_ledger(
                    ask,
                    results[k],
                    ctx=now.get(ask.budget_id),
                    line=lines.get(ask.plan_line_id),
                    payee=payees.get(ask.payee_id),
                    today=self.today,
                    excluded_categories=self.settings.excluded_categories,
                )
            pending = [p for k, p in enumerate(pending) if k not in refused]
        refused_ids = [
            self.commands[i].request_id for i in fresh if isinstance(self.outcomes[i], Exception)
        ]
        await repo.drop_claims(conn, refused_ids)
        self.stats.add("write", t)

    def _decide(
        self,
        asks: list[Any],
        budgets: dict[uuid.UUID, BudgetContext],
        lines: dict[uuid.UUID, Any],
        payees: dict[uuid.UUID, Any],
        available: dict[uuid.UUID, int],
    ) -> list[Accepted | DomainError]:
        return decide_payments(
            asks,
            budgets=budgets,
            lines=lines,
            payees=payees,
            available=available,
            today=self.today,
            excluded_categories=self.settings.excluded_categories,
        )

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
        actor = audit.actor_label(acc.command.actor)  # the caller's, not this worker's
        moves: list[Transfer] = []
        for k, (stream, account, part) in enumerate(moving):
            assert account is not None
            moves.append(
                Transfer(
                    id=transfer_id(payment_ref, what, stream),
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
                    actor=actor,
                )
            )
        return moves

    async def _write(
        self,
        survivors: list[tuple[int, _Accepted]],
        budgets: dict[uuid.UUID, BudgetContext],
        lines: dict[uuid.UUID, Any],
        payees: dict[uuid.UUID, Any],
    ) -> None:
        """The survivors' payment rows (as the columns the one write statement takes), their
        API answers, events and stored responses."""
        if not survivors:
            return
        now = self.now
        created = mapping.timestamp(now)
        expires_at = now + timedelta(seconds=self.settings.reservation_timeout_s)
        expire_time = mapping.timestamp(expires_at)
        columns: list[list[Any]] = [[] for _ in repo.RELEASE_COLUMNS]
        (
            ids, request_ids, reserves, budget_ids, line_ids, payee_ids, amounts, nhs_parts,
            council_parts, client_parts, starts, ends, references, event_ids, envelopes, responses,
        ) = columns  # fmt: skip
        subjects = {False: "", True: ""}
        contexts: dict[tuple[uuid.UUID, uuid.UUID], ev.PaymentContext] = {}
        for i, acc in survivors:
            c = acc.command
            f = c.fields
            ask = f.ask
            reserve = c.reserve
            payment_id = str(acc.payment_id)
            nhs, council, client = acc.parts
            amount = ask.amount_pence
            ids.append(acc.payment_id)
            request_ids.append(c.request_id)
            reserves.append(reserve)
            budget_ids.append(ask.budget_id)
            line_ids.append(ask.plan_line_id)
            payee_ids.append(ask.payee_id)
            amounts.append(amount)
            nhs_parts.append(nhs)
            council_parts.append(council)
            client_parts.append(client)
            starts.append(f.period_start)
            ends.append(f.period_end)
            references.append(f.broker_reference)
            period_start, period_end = mapping.iso(f.period_start), mapping.iso(f.period_end)
            budget_id, line_id, payee_id = (
                str(ask.budget_id),
                str(ask.plan_line_id),
                str(ask.payee_id),
            )
            # The answer: what mapping.payment_message gives for the row written below.
            answer: dict[str, Any] = {
                "payment_id": payment_id,
                "budget_id": budget_id,
                "plan_line_id": line_id,
                "payee_id": payee_id,
                "service_period_start": period_start,
                "service_period_end": period_end,
                "broker_reference": f.broker_reference,
                "create_time": created,
            }
            if reserve:
                message = api.Payment(
                    kind="PAYMENT_KIND_RESERVATION",
                    state="PAYMENT_STATE_RESERVED",
                    amount_pence=amount,
                    streams=mapping.streams(nhs, council, client),
                    reserved_pence=amount,
                    expire_time=expire_time,
                    **answer,
                )
            else:
                message = api.Payment(
                    kind="PAYMENT_KIND_RELEASE",
                    state="PAYMENT_STATE_RELEASED",
                    amount_pence=amount,
                    streams=mapping.streams(nhs, council, client),
                    **answer,
                )
            self.outcomes[i] = message
            responses.append(message.SerializeToString())
            key = (ask.budget_id, ask.plan_line_id)
            context = contexts.get(key)
            if context is None:
                context = mapping.context(budgets[ask.budget_id].budget, lines[ask.plan_line_id])
                contexts[key] = context
            common: dict[str, Any] = {
                "payment_id": payment_id,
                "context": context,
                "payee_id": payee_id,
                "payee_kind": str(payees[ask.payee_id].kind),
                "amount_pence": amount,
                "streams": mapping.event_streams(acc.parts),
                "service_period_start": period_start,
                "service_period_end": period_end,
                "broker_reference": f.broker_reference,
            }
            payload: Any
            if reserve:
                payload = ev.PaymentReserved(expire_time=expire_time, **common)
            else:
                payload = ev.PaymentReleased(**common)
            e = event(
                payload,
                "payment",
                payment_id,
                1,
                c.request_id,
                occurred_at=created,
                trace=c.trace,
                actor=c.actor,
            )
            subjects[reserve] = e.subject
            event_ids.append(e.event_id)
            envelopes.append(e.envelope.SerializeToString())
        await repo.write_releases(
            self.conn, columns, (now, expires_at), (subjects[False], subjects[True])
        )


def _replay(c: Command, stored: Any, paid: bool) -> api.Payment | Exception:
    """The stored answer for a command whose request id an earlier batch took (the rule:
    shared/request_keys.py `replay`); `paid`: a kept payment row carries the request id."""
    if stored is None and paid:
        # The answer was pruned after the request-id window; the payment is kept: never again.
        return RequestIdExpired(c.request_id)
    if stored is None:
        # Claimed by a transaction that rolled back in between: ask the caller to retry.
        return RequestInFlight(c.request_id)
    row = StoredRequest(
        stored["method"], stored["request_hash"], stored["response"], stored["actor"]
    )
    try:
        return api.Payment.FromString(replay(row, c.key, c.actor.subject))
    except DomainError as error:
        return error


async def with_ledger_end(
    conn: asyncpg.Connection, budgets: dict[uuid.UUID, BudgetContext]
) -> dict[uuid.UUID, BudgetContext]:
    """The budgets, each marked when the ledger shows it ended (its accounts swept back)."""
    accounts = [a for ctx in budgets.values() for a in ctx.budget.accounts if a is not None]
    swept = await ledger_reads.swept_by_budget_end(conn, accounts)
    return {
        bid: replace(ctx, ended_in_ledger=any(a in swept for a in ctx.budget.accounts))
        for bid, ctx in budgets.items()
    }
