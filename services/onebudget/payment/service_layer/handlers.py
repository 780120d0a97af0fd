"""Use cases of the payment service: validate, then run the effect once per request_id in one
transaction with its ledger transfers and outbox events (nothing stored or published on error).

Releases and reservations go through the command batcher (release.py); the rest run one
command per transaction (they are rarer and touch one payment, schedule or repayment).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from onebudget import ledger
from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import reads as ledger_reads
from onebudget.ledger.chart import payee_accounts
from onebudget.payment.adapters import repository as repo
from onebudget.payment.config import PaymentSettings
from onebudget.payment.domain import errors
from onebudget.payment.domain.funders import FunderReturn
from onebudget.payment.domain.model import (
    STREAMS,
    Parts,
    PayeeKind,
    PaymentAsk,
    PaymentState,
    check_payment,
    confirm_parts,
    give_back_parts,
    proportional_parts,
    return_parts,
    stopped_refusal,
    sub_parts,
)
from onebudget.payment.domain.schedules import (
    EVERY_WEEKS_MAX,
    check_schedule,
    offset_excess_pence,
    offset_threshold_pence,
    schedule_end,
)
from onebudget.payment.service_layer import mapping, money_moves, stopping
from onebudget.payment.service_layer.outgoing import SCHEMA, event
from onebudget.payment.service_layer.release import Command, ReleaseBatcher
from onebudget.payment.service_layer.statement import budget_statement
from onebudget.payment.service_layer.validation import (
    TEXT_LENGTH_MAX,
    check_text,
    fields_if_valid,
    payment_fields,
)
from onebudget.payment.v1 import payment_service_pb2 as api
from onebudget.shared import paging
from onebudget.shared.clock import Clock
from onebudget.shared.errors import (
    DomainError,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    Violations,
)
from onebudget.shared.grpc_edge import status_code_for
from onebudget.shared.idempotency import IdempotencyKey, check_request_id, run_idempotent
from onebudget.shared.identifiers import is_organisation_code
from onebudget.shared.identity import Role, current_actor
from onebudget.shared.outbox import add_to_outbox
from onebudget.shared.permissions import check_scope
from onebudget.shared.validation import check_pence, parse_date, parse_uuid

REASONS_COUNT_MAX = 20
_NO_RESULT = api.ReleasePaymentResult()  # a placeholder, replaced before the answer goes out
Conn: TypeAlias = asyncpg.Connection


UNSCOPED = (Role.SYSTEM, Role.AUDITOR)  # see every organisation (permissions.check_scope)
OWNERS_CACHED_MAX = 100_000


def _not_found(reason: str, what: str, key: str, value: object) -> NotFound:
    return NotFound(reason=reason, message=f"no such {what}", metadata={key: str(value)})


class PaymentHandlers:
    def __init__(self, pool: asyncpg.Pool, settings: PaymentSettings, clock: Clock) -> None:
        """`clock` gives England's date (is the budget active?) and event times."""
        self._pool = pool
        self._settings = settings
        self._clock = clock
        self.batcher = ReleaseBatcher(pool, settings, clock)
        # Each budget's commissioner, council and person, for the scope check (issue 14): they
        # never change once the budget is agreed, so they are read once per budget.
        self._owners: dict[uuid.UUID, tuple[tuple[str, str], str]] = {}

    async def _check_scope(self, budget_id: uuid.UUID) -> None:
        """The acting caller works for the budget's commissioner or council (a broker pays only
        from budgets of its organisations), or holds it; raises PermissionDenied
        (shared/permissions.check_scope). An unknown budget is left to the command, which
        refuses it BUDGET_NOT_FOUND."""
        actor = current_actor()
        if actor.role in UNSCOPED:
            return
        owners = self._owners.get(budget_id)
        if owners is None:
            async with self._pool.acquire() as conn:
                row = await repo.budget_owners(conn, budget_id)
            if row is None:
                return
            owners = (
                (row["commissioner_ods_code"], row["council_gss_code"] or ""),
                str(row["person_id"] or ""),
            )
            if len(self._owners) >= OWNERS_CACHED_MAX:
                self._owners.clear()
            self._owners[budget_id] = owners
        check_scope(actor, owners[0], owners[1])

    async def _check_budget_scope(self, budget_id: str) -> None:
        """_check_scope for a budget id as the caller sent it; a malformed one is left to the
        command's validation (INVALID_ARGUMENT)."""
        try:
            parsed = uuid.UUID(budget_id)
        except ValueError:
            return
        await self._check_scope(parsed)

    async def _check_payment_scope(self, payment_id: uuid.UUID) -> None:
        """_check_scope for the budget a payment is from (a reservation is confirmed or cancelled,
        a payment returned, only by a caller of that budget's organisations); an unknown payment
        is left to the command (PAYMENT_NOT_FOUND)."""
        await self._check_scope_of("payments", "payment_id", payment_id)

    async def _check_scope_of(self, table: str, key: str, value: uuid.UUID) -> None:
        """_check_scope for the budget the payment, schedule or repayment `value` (a row of
        `table`, keyed by `key`) is of; an unknown one is left to the command (its NOT_FOUND).
        Raises PermissionDenied PERMISSION_DENIED_ORGANISATION (issue 14)."""
        if current_actor().role in UNSCOPED:
            return
        async with self._pool.acquire() as conn:
            budget_id = await repo.budget_of(conn, table, key, value)
        if budget_id is not None:
            await self._check_scope(budget_id)

    async def _check_payee_row_scope(self, conn: Conn, row: Any) -> None:
        """A payee (a row of payment.payees) belongs to the organisation it was registered with
        and, for a direct-payment account, to its holder's budgets' commissioners and councils;
        the caller must act for one of them (shared/permissions.check_scope), else
        PermissionDenied PERMISSION_DENIED_ORGANISATION. A payee registered with neither an
        organisation nor a holder is shared: any caller whose role allows the RPC may act on it
        (docs/security.md)."""
        actor = current_actor()
        if actor.role in UNSCOPED:
            return
        holder = row["person_id"]
        organisations = [row["organisation_code"]] if row["organisation_code"] else []
        if holder is not None:
            organisations += await repo.person_organisations(conn, holder)
        if organisations or holder is not None:
            check_scope(actor, organisations, str(holder or ""))

    def _organisations_shown(self) -> tuple[str, ...] | None:
        """What a list may show the caller: None (everything) for the auditor and the system,
        else the organisations it acts for (the same rule as check_scope)."""
        actor = current_actor()
        return None if actor.role in UNSCOPED else actor.organisations

    async def _check_payee_scope(self, organisation_code: str, holder: uuid.UUID | None) -> None:
        """A payee is registered only within the caller's organisations: a provider's
        `organisation_code` (when given) must be one the caller acts for, and a direct-payment
        account's holder must have a budget of an organisation the caller acts for (a person
        payment knows no budget of is refused); raises PermissionDenied
        PERMISSION_DENIED_ORGANISATION (shared/permissions.check_scope, issue 14)."""
        actor = current_actor()
        if actor.role in UNSCOPED:
            return
        if organisation_code:
            check_scope(actor, [organisation_code])
        if holder is not None:
            async with self._pool.acquire() as conn:
                organisations = await repo.person_organisations(conn, holder)
            check_scope(actor, organisations, str(holder))

    async def _idempotent(self, method: str, request: Any, response_type: Any, effect: Any) -> Any:
        return await run_idempotent(self._pool, SCHEMA, method, request, response_type, effect)

    # -- payees ----------------------------------------------------------------------------------

    async def register_payee(self, request: api.RegisterPayeeRequest) -> api.Payee:
        v = Violations()
        check_request_id(request.request_id, v)
        v.check(request.kind != api.PAYEE_KIND_UNSPECIFIED, "kind", "required")
        check_text(request.name, "name", v, required=True)
        v.check(
            not request.close_family_member_in_household
            or request.kind == api.PAYEE_KIND_PERSONAL_ASSISTANT,
            "close_family_member_in_household",
            "only a personal assistant can be a close family member paid for care",
        )
        # A direct-payment account holds one person's direct payment (Standing Rules 32B(2)).
        account = request.kind == api.PAYEE_KIND_DIRECT_PAYMENT_ACCOUNT
        holder = parse_uuid(request.person_id, "person_id", v, required=account)
        v.check(
            account or not request.person_id,
            "person_id",
            "only a direct-payment account has a holder",
        )
        v.check(
            not request.organisation_code or is_organisation_code(request.organisation_code),
            "organisation_code",
            "a commissioner's ODS code (QNQ, 00L) or a council's GSS code (E06000036)",
        )
        v.raise_if_any()
        await self._check_payee_scope(request.organisation_code, holder if account else None)
        kind = api.PayeeKind.Name(request.kind).removeprefix("PAYEE_KIND_")

        async def effect(conn: Conn) -> api.Payee:
            payee_id = uuid.uuid4()
            row = await repo.insert_payee(
                conn,
                payee_id,
                kind,
                request.name,
                request.close_family_member_in_household,
                holder if account else None,
                request.organisation_code,
            )
            await ledger.create_accounts(conn, payee_accounts(payee_id))
            return mapping.payee_message(row)

        result: api.Payee = await self._idempotent("RegisterPayee", request, api.Payee, effect)
        return result

    async def approve_family_payee(self, request: api.ApproveFamilyPayeeRequest) -> api.Payee:
        v = Violations()
        check_request_id(request.request_id, v)
        payee_id = parse_uuid(request.payee_id, "payee_id", v)
        check_text(request.reason, "reason", v, required=True, limit=1000)
        check_text(request.approver, "approver", v, required=True)
        v.raise_if_any()
        assert payee_id is not None
        async with self._pool.acquire() as conn:
            found = await repo.payee_row(conn, payee_id)
            if found is not None:
                await self._check_payee_row_scope(conn, found)

        async def effect(conn: Conn) -> api.Payee:
            row = await repo.payee_row(conn, payee_id, for_update=True)
            if row is None:
                raise _not_found(errors.PAYEE_NOT_FOUND, "payee", "payee_id", payee_id)
            if not row["close_family"]:
                raise FailedPrecondition(
                    reason=errors.NOT_A_FAMILY_PAYEE,
                    message="only a close family member in the household needs an approval",
                )
            row = await repo.approve_payee(conn, payee_id, request.reason, request.approver)
            return mapping.payee_message(row)

        result: api.Payee = await self._idempotent("ApproveFamilyPayee", request, api.Payee, effect)
        return result

    async def get_payee(self, request: api.GetPayeeRequest) -> api.Payee:
        v = Violations()
        payee_id = parse_uuid(request.payee_id, "payee_id", v)
        v.raise_if_any()
        assert payee_id is not None
        async with self._pool.acquire() as conn:
            row = await repo.payee_row(conn, payee_id)
            if row is None:
                raise _not_found(errors.PAYEE_NOT_FOUND, "payee", "payee_id", payee_id)
            await self._check_payee_row_scope(conn, row)
        return mapping.payee_message(row)

    async def list_payees(self, request: api.ListPayeesRequest) -> api.ListPayeesResponse:
        """Payees oldest first (AIP-132/158 paging), filtered by organisation_code, person_id
        and kind, and to the caller's organisations (as _check_payee_row_scope; an auditor sees
        all). INVALID_ARGUMENT INVALID_REQUEST on a negative page_size, a person_id that is
        not a UUID or a page_token of another query."""
        v = Violations()
        size = paging.page_size(request.page_size, v)
        kind = (
            ""
            if request.kind == api.PAYEE_KIND_UNSPECIFIED
            else api.PayeeKind.Name(request.kind).removeprefix("PAYEE_KIND_")
        )
        f = repo.PayeeFilter(
            organisation_code=request.organisation_code,
            person_id=parse_uuid(request.person_id, "person_id", v, required=False),
            kind=kind,
            organisations=self._organisations_shown(),
        )
        query = repr(("payees", f.organisation_code, f.person_id, f.kind))
        key = paging.decode_token(request.page_token, query, v)
        v.raise_if_any()
        after = None
        if key is not None:
            after = (datetime.fromisoformat(key[0]), uuid.UUID(key[1]))
        async with self._pool.acquire() as conn:
            rows = await repo.list_payees(conn, f, after, size + 1)
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = paging.encode_token(
                [last["created_at"].isoformat(), str(last["payee_id"])], query
            )
        return api.ListPayeesResponse(
            payees=[mapping.payee_message(r) for r in rows[:size]], next_page_token=token
        )

    # -- releases and reservations (batched) -----------------------------------------------------

    async def release_payment(self, request: api.ReleasePaymentRequest) -> api.Payment:
        return await self._batched("ReleasePayment", request, reserve=False)

    async def reserve_payment(self, request: api.ReservePaymentRequest) -> api.Payment:
        return await self._batched("ReservePayment", request, reserve=True)

    async def _batched(self, method: str, request: Any, *, reserve: bool) -> api.Payment:
        fields = fields_if_valid(request)
        if fields is None:
            v = Violations()
            fields = payment_fields(request, v)
            v.raise_if_any()
            assert fields is not None
        await self._check_scope(fields.ask.budget_id)
        command = Command.of(IdempotencyKey.of(method, request), fields, reserve)
        return await self.batcher.submit(command)

    async def release_payments(
        self, request: api.ReleasePaymentsRequest
    ) -> api.ReleasePaymentsResponse:
        v = Violations()
        outer_id = check_request_id(request.request_id, v)
        v.check(len(request.payments) > 0, "payments", "at least one payment")
        limit = self._settings.bulk_size_max
        v.check(len(request.payments) <= limit, "payments", f"at most {limit} payments")
        v.raise_if_any()
        outer = uuid.UUID(outer_id)  # any accepted spelling: one UUID, one set of derived ids
        results: list[api.ReleasePaymentResult] = []
        commands: list[Command] = []
        queued: list[int] = []  # the index in `results` of each queued command's answer
        for i, item in enumerate(request.payments):
            if not item.request_id:
                # Derived, so a retry of the whole call moves each payment at most once.
                item.request_id = str(uuid.uuid5(outer, str(i)))
            fields = fields_if_valid(item)
            if fields is None:
                iv = Violations()
                fields = payment_fields(item, iv, prefix=f"payments[{i}].")
            if fields is None:
                try:
                    iv.raise_if_any()
                except DomainError as error:
                    results.append(api.ReleasePaymentResult(error=payment_error(error)))
                continue
            try:
                await self._check_scope(fields.ask.budget_id)
            except PermissionDenied as refused:
                results.append(api.ReleasePaymentResult(error=payment_error(refused)))
                continue
            commands.append(Command.of(IdempotencyKey.of("ReleasePayment", item), fields, False))
            queued.append(len(results))
            results.append(_NO_RESULT)
        if commands:
            # Set-based: a chunk of the call is one transaction and one ledger call.
            outcomes = await self.batcher.run_many(commands)
            for k, outcome in zip(queued, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    results[k] = api.ReleasePaymentResult(error=payment_error(outcome))
                elif isinstance(outcome, Exception):
                    raise outcome
                else:
                    results[k] = api.ReleasePaymentResult(payment=outcome)
        return api.ReleasePaymentsResponse(results=results)

    # -- two-phase -------------------------------------------------------------------------------

    async def confirm_payment(self, request: api.ConfirmPaymentRequest) -> api.Payment:
        v = Violations()
        check_request_id(request.request_id, v)
        payment_id = parse_uuid(request.payment_id, "payment_id", v)
        check_pence(request.amount_pence, "amount_pence", v)
        v.raise_if_any()
        assert payment_id is not None
        await self._check_payment_scope(payment_id)

        async def effect(conn: Conn) -> api.Payment:
            row = await self._reserved(conn, payment_id)
            ctx = (await repo.budgets(conn, [row["budget_id"]])).get(row["budget_id"])
            stopped = stopped_refusal(
                row["budget_id"], bool(ctx and ctx.stopped), ctx.stop_grounds if ctx else ""
            )
            if stopped is not None:  # a hold made before the stop pays nothing during it
                raise stopped
            released = row["reserved_pence"] - request.amount_pence
            # The unconfirmed rest goes back by the rule over the payment's life (ADR 7).
            parts, rest = confirm_parts(money_moves.reserved_parts(row), request.amount_pence)
            await money_moves.settle_reservation(conn, row, parts)
            await repo.add_committed(conn, [row["plan_line_id"]], [sub_parts((0, 0, 0), rest)])
            row = await repo.update_payment(
                conn,
                payment_id,
                state=PaymentState.CONFIRMED,
                amount_pence=request.amount_pence,
                nhs_pence=parts[0],
                council_pence=parts[1],
                client_pence=parts[2],
            )
            payload = ev.PaymentConfirmed(
                payment_id=str(payment_id),
                context=await self._context(conn, row),
                payee_id=str(row["payee_id"]),
                amount_pence=request.amount_pence,
                streams=mapping.event_streams(parts),
                released_pence=released,
            )
            await self._publish(conn, payload, "payment", row, request.request_id)
            return mapping.payment_message(row)

        result: api.Payment = await self._idempotent("ConfirmPayment", request, api.Payment, effect)
        return result

    async def cancel_payment(self, request: api.CancelPaymentRequest) -> api.Payment:
        v = Violations()
        check_request_id(request.request_id, v)
        payment_id = parse_uuid(request.payment_id, "payment_id", v)
        check_text(request.reason, "reason", v, required=False, limit=TEXT_LENGTH_MAX)
        v.raise_if_any()
        assert payment_id is not None
        await self._check_payment_scope(payment_id)

        async def effect(conn: Conn) -> api.Payment:
            row = await self._reserved(conn, payment_id)
            row = await cancel_reservation(conn, row, request.reason, request.request_id)
            return mapping.payment_message(row)

        result: api.Payment = await self._idempotent("CancelPayment", request, api.Payment, effect)
        return result

    async def _reserved(self, conn: Conn, payment_id: uuid.UUID) -> Any:
        row = await repo.payment_row(conn, payment_id, for_update=True)
        if row is None:
            raise _not_found(errors.PAYMENT_NOT_FOUND, "payment", "payment_id", payment_id)
        if row["state"] != PaymentState.RESERVED:
            raise FailedPrecondition(
                reason=errors.PAYMENT_NOT_RESERVED,
                message="the payment is not a live reservation",
                metadata={"state": row["state"]},
            )
        return row

    async def _context(self, conn: Conn, row: Any) -> ev.PaymentContext:
        return await payment_context(conn, row["budget_id"], row["plan_line_id"])

    async def _publish(
        self, conn: Conn, payload: Any, aggregate: str, row: Any, request_id: str
    ) -> None:
        key = f"{aggregate}_id"
        await add_to_outbox(
            conn,
            SCHEMA,
            [
                event(
                    payload,
                    aggregate,
                    row[key],
                    row["version"],
                    request_id,
                    occurred_at=self._clock.now(),
                )
            ],
        )

    # -- reads -----------------------------------------------------------------------------------

    async def get_payment(self, request: api.GetPaymentRequest) -> api.Payment:
        v = Violations()
        payment_id = parse_uuid(request.payment_id, "payment_id", v)
        v.raise_if_any()
        assert payment_id is not None
        async with self._pool.acquire() as conn:
            row = await repo.payment_row(conn, payment_id)
        if row is None:
            raise _not_found(errors.PAYMENT_NOT_FOUND, "payment", "payment_id", payment_id)
        await self._check_scope(row["budget_id"])
        return mapping.payment_message(row)

    async def list_payments(self, request: api.ListPaymentsRequest) -> api.ListPaymentsResponse:
        v = Violations()
        size = paging.page_size(request.page_size, v)
        f = repo.PaymentFilter(
            budget_id=parse_uuid(request.budget_id, "budget_id", v, required=False),
            payee_id=parse_uuid(request.payee_id, "payee_id", v, required=False),
            broker_reference=request.broker_reference,
            period_start=parse_date(request.period_start, "period_start", v),
            period_end=parse_date(request.period_end, "period_end", v),
            # Only payments from budgets of the caller's organisations (an auditor sees all).
            organisations=self._organisations_shown(),
        )
        query = repr((f.budget_id, f.payee_id, f.broker_reference, f.period_start, f.period_end))
        key = paging.decode_token(request.page_token, query, v)
        v.raise_if_any()
        after = None
        if key is not None:
            after = (datetime.fromisoformat(key[0]), uuid.UUID(key[1]))
        async with self._pool.acquire() as conn:
            rows = await repo.list_payments(conn, f, after, size + 1)
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = paging.encode_token(
                [last["created_at"].isoformat(), str(last["payment_id"])], query
            )
        return api.ListPaymentsResponse(
            payments=[mapping.payment_message(r) for r in rows[:size]], next_page_token=token
        )

    async def get_budget_statement(
        self, request: api.GetBudgetStatementRequest
    ) -> api.BudgetStatement:
        v = Violations()
        budget_id = parse_uuid(request.budget_id, "budget_id", v)
        v.raise_if_any()
        assert budget_id is not None
        async with self._pool.acquire() as conn:
            found = await repo.budgets(conn, [budget_id])
            if budget_id not in found:
                raise _not_found(errors.BUDGET_NOT_FOUND, "budget", "budget_id", budget_id)
            await self._check_scope(budget_id)
            statement = await budget_statement(conn, found[budget_id].budget)
        # Stopped or not is the same decision the batch refuses a payment with (repo.budgets:
        # stops.stop_grounds), so the statement never shows a stopped budget as payable.
        statement.payments_stopped = found[budget_id].stopped
        statement.stop_grounds = found[budget_id].stop_grounds
        return statement

    # -- returns and repayments ------------------------------------------------------------------

    async def record_return(self, request: api.RecordReturnRequest) -> api.Return:
        v = Violations()
        check_request_id(request.request_id, v)
        payment_id = parse_uuid(request.payment_id, "payment_id", v)
        check_pence(request.amount_pence, "amount_pence", v)
        check_text(request.reason, "reason", v, required=True)
        v.raise_if_any()
        assert payment_id is not None
        await self._check_payment_scope(payment_id)

        async def effect(conn: Conn) -> api.Return:
            row = await repo.payment_row(conn, payment_id, for_update=True)
            if row is None:
                raise _not_found(errors.PAYMENT_NOT_FOUND, "payment", "payment_id", payment_id)
            if row["state"] not in (PaymentState.RELEASED, PaymentState.CONFIRMED):
                raise FailedPrecondition(
                    reason=errors.PAYMENT_NOT_RETURNABLE,
                    message="only paid payments can be returned",
                    metadata={"state": row["state"]},
                )
            # Exactly the parts the payment took, over its returns (ADR 7).
            parts = return_parts(
                money_moves.paid_parts(row), money_moves.returned_parts(row), request.amount_pence
            )
            return_id = uuid.uuid4()
            accounts = (await repo.budgets(conn, [row["budget_id"]]))[row["budget_id"]]
            await money_moves.reverse_parts(conn, row, return_id, parts, accounts.budget.accounts)
            ret = await repo.insert_return(conn, return_id, payment_id, parts, request.reason)
            row = await repo.add_returned(conn, payment_id, parts)
            await repo.add_committed(conn, [row["plan_line_id"]], [sub_parts((0, 0, 0), parts)])
            payload = ev.ReturnRecorded(
                return_id=str(return_id),
                payment_id=str(payment_id),
                context=await self._context(conn, row),
                payee_id=str(row["payee_id"]),
                amount_pence=request.amount_pence,
                streams=mapping.event_streams(parts),
                reason=request.reason,
            )
            await self._publish(conn, payload, "payment", row, request.request_id)
            return api.Return(
                return_id=str(return_id),
                payment_id=str(payment_id),
                amount_pence=request.amount_pence,
                streams=mapping.streams(*parts),
                reason=request.reason,
                create_time=mapping.timestamp(ret["created_at"]),
            )

        result: api.Return = await self._idempotent("RecordReturn", request, api.Return, effect)
        return result

    async def require_repayment(self, request: api.RequireRepaymentRequest) -> api.Repayment:
        v = Violations()
        check_request_id(request.request_id, v)
        budget_id = parse_uuid(request.budget_id, "budget_id", v)
        payee_id = parse_uuid(request.payee_id, "payee_id", v)
        v.check(request.grounds != api.REPAYMENT_GROUNDS_UNSPECIFIED, "grounds", "required")
        v.check(request.repayer != api.REPAYER_UNSPECIFIED, "repayer", "required")
        v.check(len(request.reasons) >= 1, "reasons", "at least one reason (reg 15)")
        v.check(len(request.reasons) <= REASONS_COUNT_MAX, "reasons", "at most 20")
        for i, reason in enumerate(request.reasons):
            check_text(reason, f"reasons[{i}]", v, required=True, limit=1000)
        check_pence(request.amount_pence, "amount_pence", v)
        due = parse_date(request.due_date, "due_date", v, required=True)
        v.raise_if_any()
        assert budget_id is not None
        assert payee_id is not None
        assert due is not None
        await self._check_scope(budget_id)
        grounds = api.RepaymentGrounds.Name(request.grounds).removeprefix("REPAYMENT_GROUNDS_")
        repayer = api.Repayer.Name(request.repayer).removeprefix("REPAYER_")

        async def effect(conn: Conn) -> api.Repayment:
            row = await raise_repayment(
                conn,
                budget_id=budget_id,
                payee_id=payee_id,
                grounds=grounds,
                reasons=list(request.reasons),
                amount_pence=request.amount_pence,
                due=due,
                repayer=repayer,
                request_id=request.request_id,
            )
            return mapping.repayment_message(row)

        result: api.Repayment = await self._idempotent(
            "RequireRepayment", request, api.Repayment, effect
        )
        return result

    async def record_repayment_received(
        self, request: api.RecordRepaymentReceivedRequest
    ) -> api.Repayment:
        v = Violations()
        check_request_id(request.request_id, v)
        repayment_id = parse_uuid(request.repayment_id, "repayment_id", v)
        check_pence(request.amount_pence, "amount_pence", v)
        v.raise_if_any()
        assert repayment_id is not None
        await self._check_scope_of("repayments", "repayment_id", repayment_id)

        async def effect(conn: Conn) -> api.Repayment:
            row = await self._open_repayment(conn, repayment_id)
            outstanding = row["amount_pence"] - row["received_pence"]
            if request.amount_pence > outstanding:
                raise FailedPrecondition(
                    reason=errors.REPAYMENT_EXCEEDS_OUTSTANDING,
                    message="more than is outstanding",
                    metadata={"outstanding_pence": str(outstanding)},
                )
            owed = [row[f"{s.value.lower()}_pence"] for s in STREAMS]
            received = [row[f"received_{s.value.lower()}_pence"] for s in STREAMS]
            parts = give_back_parts(owed, received, request.amount_pence)
            accounts = (await repo.budgets(conn, [row["budget_id"]]))[row["budget_id"]]
            receipt_id = uuid.uuid4()
            budget = accounts.budget
            await money_moves.repay_parts(conn, row, receipt_id, parts, budget.accounts)
            # The funders' money goes home, live budget or ended (issue 13, item 12).
            returned = await money_moves.return_to_funders(
                conn,
                budget_id=row["budget_id"],
                ref=repayment_id,
                receipt_id=receipt_id,
                parts=parts,
                budget_accounts=budget.accounts,
                commissioner=budget.commissioner_ods_code,
            )
            row = await repo.add_received(conn, repayment_id, parts)
            payload = ev.RepaymentReceived(
                repayment_id=str(repayment_id),
                context=await payment_context(conn, row["budget_id"], row["plan_line_id"]),
                payee_id=str(row["payee_id"]),
                amount_pence=request.amount_pence,
                streams=mapping.event_streams(parts),
                outstanding_pence=row["amount_pence"] - row["received_pence"],
                returned_to_funders=[mapping.funds_returned(r) for r in returned],
            )
            await self._publish(conn, payload, "repayment", row, request.request_id)
            return mapping.repayment_message(row)

        result: api.Repayment = await self._idempotent(
            "RecordRepaymentReceived", request, api.Repayment, effect
        )
        return result

    async def write_off_repayment(self, request: api.WriteOffRepaymentRequest) -> api.Repayment:
        v = Violations()
        check_request_id(request.request_id, v)
        repayment_id = parse_uuid(request.repayment_id, "repayment_id", v)
        check_text(request.reason, "reason", v, required=True, limit=1000)
        check_text(request.approver, "approver", v, required=True)
        v.raise_if_any()
        assert repayment_id is not None
        await self._check_scope_of("repayments", "repayment_id", repayment_id)

        async def effect(conn: Conn) -> api.Repayment:
            row = await self._open_repayment(conn, repayment_id)
            left = [
                row[f"{s.value.lower()}_pence"] - row[f"received_{s.value.lower()}_pence"]
                for s in STREAMS
            ]
            row = await repo.write_off(conn, repayment_id, request.reason, request.approver)
            payload = ev.RepaymentWrittenOff(
                repayment_id=str(repayment_id),
                context=await payment_context(conn, row["budget_id"], row["plan_line_id"]),
                payee_id=str(row["payee_id"]),
                amount_pence=row["written_off_pence"],
                streams=mapping.event_streams(left),
                reason=request.reason,
            )
            await self._publish(conn, payload, "repayment", row, request.request_id)
            return mapping.repayment_message(row)

        result: api.Repayment = await self._idempotent(
            "WriteOffRepayment", request, api.Repayment, effect
        )
        return result

    async def _open_repayment(self, conn: Conn, repayment_id: uuid.UUID) -> Any:
        row = await repo.repayment_row(conn, repayment_id, for_update=True)
        if row is None:
            raise _not_found(errors.REPAYMENT_NOT_FOUND, "repayment", "repayment_id", repayment_id)
        if row["state"] != "OPEN":
            raise FailedPrecondition(
                reason=errors.REPAYMENT_NOT_OPEN,
                message="the repayment is settled",
                metadata={"state": row["state"]},
            )
        return row

    async def get_repayment(self, request: api.GetRepaymentRequest) -> api.Repayment:
        v = Violations()
        repayment_id = parse_uuid(request.repayment_id, "repayment_id", v)
        v.raise_if_any()
        assert repayment_id is not None
        async with self._pool.acquire() as conn:
            row = await repo.repayment_row(conn, repayment_id)
        if row is None:
            raise _not_found(errors.REPAYMENT_NOT_FOUND, "repayment", "repayment_id", repayment_id)
        await self._check_scope(row["budget_id"])
        return mapping.repayment_message(row)

    # -- schedules -------------------------------------------------------------------------------

    async def create_schedule(self, request: api.CreateScheduleRequest) -> api.Schedule:
        v = Violations()
        check_request_id(request.request_id, v)
        budget_id = parse_uuid(request.budget_id, "budget_id", v)
        line_id = parse_uuid(request.plan_line_id, "plan_line_id", v)
        payee_id = parse_uuid(request.payee_id, "payee_id", v)
        check_pence(request.instalment_pence, "instalment_pence", v)
        v.check(
            1 <= request.every_weeks <= EVERY_WEEKS_MAX,
            "every_weeks",
            f"between 1 and {EVERY_WEEKS_MAX}",
        )
        start = parse_date(request.start_date, "start_date", v, required=True)
        end = parse_date(request.end_date, "end_date", v)
        if start is not None and end is not None:
            v.check(start <= end, "end_date", "must not be before start_date")
        v.raise_if_any()
        assert budget_id is not None
        assert line_id is not None
        assert payee_id is not None
        assert start is not None
        await self._check_scope(budget_id)

        async def effect(conn: Conn) -> api.Schedule:
            last = await self._check_schedulable(
                conn, budget_id, line_id, payee_id, request, start, end
            )
            row = await repo.insert_schedule(
                conn,
                schedule_id=uuid.uuid4(),
                budget_id=budget_id,
                plan_line_id=line_id,
                payee_id=payee_id,
                instalment_pence=request.instalment_pence,
                every_weeks=request.every_weeks,
                start_date=start,
                end_date=last,
                state="ACTIVE",
                next_due_date=start,
            )
            return mapping.schedule_message(row)

        result: api.Schedule = await self._idempotent(
            "CreateSchedule", request, api.Schedule, effect
        )
        return result

    async def _check_schedulable(
        self,
        conn: Conn,
        budget_id: uuid.UUID,
        line_id: uuid.UUID,
        payee_id: uuid.UUID,
        request: api.CreateScheduleRequest,
        start: date,
        end: date | None,
    ) -> date | None:
        """Refuse a schedule the rules do not allow; its last day (its own, else the budget's)."""
        payees = await repo.payees(conn, [payee_id])
        payee = payees.get(payee_id)
        if payee is not None and payee.kind != PayeeKind.DIRECT_PAYMENT_ACCOUNT:
            raise FailedPrecondition(
                reason=errors.NOT_A_DIRECT_PAYMENT_ACCOUNT,
                message="a schedule pays a direct-payment account",
                metadata={"payee_kind": payee.kind},
            )
        budgets = await repo.budgets(conn, [budget_id])
        lines = await repo.plan_lines(conn, [line_id])
        ctx = budgets.get(budget_id)
        line = lines.get(line_id)
        refused = check_payment(
            PaymentAsk(budget_id, line_id, payee_id, request.instalment_pence),
            budget=ctx.budget if ctx else None,
            line=line,
            payee=payee,
            stopped=ctx.stopped if ctx else False,
            excluded_categories=self._settings.excluded_categories,
            line_committed_pence=0,
            today=self._clock.today(),
            stop_grounds=ctx.stop_grounds if ctx else "",
        )
        # The line's cover is check_schedule's; a non-direct-payment line is named as such.
        later = (errors.PLAN_LINE_EXCEEDED, errors.PAYEE_NOT_FOR_MANAGEMENT_OPTION)
        if refused is not None and refused.reason not in later:
            raise refused
        assert ctx is not None
        assert line is not None
        broken = check_schedule(
            ctx.budget,
            line,
            instalment_pence=request.instalment_pence,
            every_weeks=request.every_weeks,
            start=start,
            end=end,
            line_left_pence=line.cost_pence - line.committed_pence,
        )
        if broken is not None:
            raise broken
        return schedule_end(ctx.budget, end)

    # -- stopping (payment/service_layer/stopping.py) ---------------------------------------------

    async def stop_payments(self, request: api.StopPaymentsRequest) -> api.PaymentStop:
        await self._check_budget_scope(request.budget_id)
        return await stopping.stop_payments(self._pool, request, self._clock)

    async def resume_payments(self, request: api.ResumePaymentsRequest) -> api.PaymentStop:
        await self._check_budget_scope(request.budget_id)
        return await stopping.resume_payments(self._pool, request, self._clock)

    async def get_schedule(self, request: api.GetScheduleRequest) -> api.Schedule:
        v = Violations()
        schedule_id = parse_uuid(request.schedule_id, "schedule_id", v)
        v.raise_if_any()
        assert schedule_id is not None
        async with self._pool.acquire() as conn:
            row = await repo.schedule_row(conn, schedule_id)
        if row is None:
            raise _not_found(errors.SCHEDULE_NOT_FOUND, "schedule", "schedule_id", schedule_id)
        await self._check_scope(row["budget_id"])
        return mapping.schedule_message(row)

    async def offset_accumulated_funds(
        self, request: api.OffsetAccumulatedFundsRequest
    ) -> api.Schedule:
        v = Violations()
        check_request_id(request.request_id, v)
        schedule_id = parse_uuid(request.schedule_id, "schedule_id", v)
        check_pence(request.unused_balance_pence, "unused_balance_pence", v, low=0)
        parse_date(request.as_of, "as_of", v, required=True)
        v.raise_if_any()
        assert schedule_id is not None
        await self._check_scope_of("schedules", "schedule_id", schedule_id)

        async def effect(conn: Conn) -> api.Schedule:
            row = await repo.schedule_row(conn, schedule_id, for_update=True)
            if row is None:
                raise _not_found(errors.SCHEDULE_NOT_FOUND, "schedule", "schedule_id", schedule_id)
            if row["state"] != "ACTIVE":
                raise FailedPrecondition(
                    reason=errors.SCHEDULE_NOT_ACTIVE, message="the schedule has stopped"
                )
            threshold = offset_threshold_pence(
                row["instalment_pence"], row["every_weeks"], self._settings.offset_threshold_weeks
            )
            # The latest statement of unused money replaces an earlier one (no double count).
            excess = offset_excess_pence(request.unused_balance_pence, threshold)
            row = await repo.update_schedule(conn, schedule_id, offset_outstanding_pence=excess)
            return mapping.schedule_message(row)

        result: api.Schedule = await self._idempotent(
            "OffsetAccumulatedFunds", request, api.Schedule, effect
        )
        return result


def payment_error(error: DomainError) -> api.PaymentError:
    violations = getattr(error, "violations", ())
    return api.PaymentError(
        code=status_code_for(error).value[0],
        reason=error.reason,
        message=error.message,
        metadata=dict(error.metadata),
        field_violations=[
            api.FieldViolation(field=fv.field, description=fv.description) for fv in violations
        ],
    )


async def payment_context(
    conn: Conn, budget_id: uuid.UUID, plan_line_id: uuid.UUID | None
) -> ev.PaymentContext:
    budgets = await repo.budgets(conn, [budget_id])
    lines = await repo.plan_lines(conn, [plan_line_id] if plan_line_id else [])
    line = lines.get(plan_line_id) if plan_line_id else None
    if budget_id not in budgets:
        return ev.PaymentContext(budget_id=str(budget_id))
    return mapping.context(budgets[budget_id].budget, line)


async def cancel_reservation(conn: Conn, row: Any, reason: str, request_id: str) -> Any:
    """Void every stream's hold, free the plan line, publish PaymentCancelled. When the budget
    has ended in the ledger (allocation swept its accounts), the released hold goes on to the
    funders, as the end's sweep would have sent it (issue 13, items 12-13)."""
    await money_moves.settle_reservation(conn, row, None)
    held = money_moves.reserved_parts(row)
    await repo.add_committed(conn, [row["plan_line_id"]], [sub_parts((0, 0, 0), held)])
    returned = await _home_if_ended(conn, row, held)
    row = await repo.update_payment(conn, row["payment_id"], state=PaymentState.CANCELLED)
    payload = ev.PaymentCancelled(
        payment_id=str(row["payment_id"]),
        context=await payment_context(conn, row["budget_id"], row["plan_line_id"]),
        payee_id=str(row["payee_id"]),
        released_pence=row["reserved_pence"],
        streams=mapping.event_streams(money_moves.reserved_parts(row)),
        reason=reason,
        returned_to_funders=[mapping.funds_returned(r) for r in returned],
    )
    await add_to_outbox(
        conn, SCHEMA, [event(payload, "payment", row["payment_id"], row["version"], request_id)]
    )
    return row


async def _home_if_ended(conn: Conn, row: Any, held: Parts) -> list[FunderReturn]:
    found = await repo.budgets(conn, [row["budget_id"]])
    ctx = found.get(row["budget_id"])
    if ctx is None or not any(held):
        return []
    accounts = ctx.budget.accounts
    if not await ledger_reads.swept_by_budget_end(conn, [a for a in accounts if a is not None]):
        return []
    return await money_moves.return_to_funders(
        conn,
        budget_id=row["budget_id"],
        ref=row["payment_id"],
        receipt_id=row["payment_id"],
        parts=held,
        budget_accounts=accounts,
        commissioner=ctx.budget.commissioner_ods_code,
        reason="hold_released_after_end",
    )


async def raise_repayment(
    conn: Conn,
    *,
    budget_id: uuid.UUID,
    payee_id: uuid.UUID,
    grounds: str,
    reasons: list[str],
    amount_pence: int,
    due: date,
    repayer: str,
    request_id: str,
    plan_line_id: uuid.UUID | None = None,
) -> Any:
    """A reclaim notice, split back across the streams the payee was paid from."""
    net = await repo.net_paid(conn, budget_id, payee_id)
    if amount_pence > sum(net):
        raise FailedPrecondition(
            reason=errors.REPAYMENT_EXCEEDS_PAID,
            message="more than the payee kept from this budget",
            metadata={"reclaimable_pence": str(sum(net))},
        )
    parts = proportional_parts(amount_pence, net)
    row = await repo.insert_repayment(
        conn,
        repayment_id=uuid.uuid4(),
        budget_id=budget_id,
        plan_line_id=plan_line_id,
        payee_id=payee_id,
        grounds=grounds,
        reasons=reasons,
        amount_pence=amount_pence,
        nhs_pence=parts[0],
        council_pence=parts[1],
        client_pence=parts[2],
        due_date=due,
        repayer=repayer,
        state="OPEN",
    )
    payload = ev.RepaymentRequired(
        repayment_id=str(row["repayment_id"]),
        context=await payment_context(conn, budget_id, plan_line_id),
        payee_id=str(payee_id),
        grounds=grounds,
        amount_pence=amount_pence,
        streams=mapping.event_streams(parts),
        due_date=due.isoformat(),
        repayer=repayer,
    )
    await add_to_outbox(
        conn, SCHEMA, [event(payload, "repayment", row["repayment_id"], 1, request_id)]
    )
    return row
