"""Commands on commissioners, councils, their allocations and the year-end close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import asyncpg

from onebudget.allocation.adapters import repository as repo
from onebudget.allocation.domain import errors, model
from onebudget.allocation.service_layer import funding, mapping, outgoing, validation
from onebudget.allocation.service_layer.funding import Move
from onebudget.allocation.v1 import allocation_service_pb2 as pb
from onebudget.events.v1 import allocation_pb2 as ev
from onebudget.ledger import chart, store
from onebudget.shared.errors import Violations
from onebudget.shared.idempotency import check_request_id, run_idempotent
from onebudget.shared.identity import current_actor
from onebudget.shared.permissions import check_scope
from onebudget.shared.validation import check_pence

SCHEMA = "allocation"


async def register_commissioner(
    pool: asyncpg.Pool, request: pb.RegisterCommissionerRequest
) -> pb.Commissioner:
    v = Violations()
    check_request_id(request.request_id, v)
    validation.check_ods(request.ods_code, "ods_code", v)
    validation.check_name(request.name, "name", v)
    v.raise_if_any()
    check_scope(current_actor(), [request.ods_code])

    async def effect(conn: asyncpg.Connection) -> pb.Commissioner:
        if not await repo.insert_commissioner(conn, request.ods_code, request.name.strip()):
            raise errors.exists(
                errors.COMMISSIONER_ALREADY_REGISTERED,
                f"commissioner {request.ods_code} is registered already",
                ods_code=request.ods_code,
            )
        return pb.Commissioner(ods_code=request.ods_code, name=request.name.strip())

    return await run_idempotent(
        pool, SCHEMA, "RegisterCommissioner", request, pb.Commissioner, effect
    )


async def register_council(pool: asyncpg.Pool, request: pb.RegisterCouncilRequest) -> pb.Council:
    v = Violations()
    check_request_id(request.request_id, v)
    validation.check_gss(request.gss_code, "gss_code", v)
    validation.check_name(request.name, "name", v)
    v.raise_if_any()
    check_scope(current_actor(), [request.gss_code])

    async def effect(conn: asyncpg.Connection) -> pb.Council:
        if not await repo.insert_council(conn, request.gss_code, request.name.strip()):
            raise errors.exists(
                errors.COUNCIL_ALREADY_REGISTERED,
                f"council {request.gss_code} is registered already",
                gss_code=request.gss_code,
            )
        return pb.Council(gss_code=request.gss_code, name=request.name.strip())

    return await run_idempotent(pool, SCHEMA, "RegisterCouncil", request, pb.Council, effect)


def _cohort_targets(request: pb.SetCommissionerAllocationRequest, v: Violations) -> dict[str, int]:
    targets: dict[str, int] = {}
    for i, target in enumerate(request.cohort_targets):
        field = f"cohort_targets[{i}]"
        name = validation.cohort_name(target.cohort) if target.cohort in pb.Cohort.values() else ""
        v.check(bool(name), f"{field}.cohort", "a cohort is required")
        v.check(name not in targets, f"{field}.cohort", "each cohort at most once")
        validation.check_basis_points(target.basis_points, f"{field}.basis_points", v)
        targets[name] = target.basis_points
    v.check(
        sum(targets.values()) <= request.phb_target_basis_points,
        "cohort_targets",
        "the cohort targets together may not exceed the overall PHB target",
    )
    return targets


async def set_commissioner_allocation(
    pool: asyncpg.Pool, request: pb.SetCommissionerAllocationRequest
) -> pb.CommissionerAllocation:
    v = Violations()
    check_request_id(request.request_id, v)
    validation.check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
    validation.check_year(request.financial_year, "financial_year", v)
    check_pence(request.allocation_pence, "allocation_pence", v)
    validation.check_basis_points(request.phb_target_basis_points, "phb_target_basis_points", v)
    cohorts = _cohort_targets(request, v)
    v.raise_if_any()
    check_scope(current_actor(), [request.commissioner_ods_code])
    targets = model.ring_fence_targets(
        request.allocation_pence, request.phb_target_basis_points, cohorts
    )
    if targets is None:
        v.add("cohort_targets", "rounded to the penny, the cohort targets exceed the overall one")
        v.raise_if_any()
    assert targets is not None

    async def effect(conn: asyncpg.Connection) -> pb.CommissionerAllocation:
        return await _post_allocation(conn, request, targets)

    return await run_idempotent(
        pool, SCHEMA, "SetCommissionerAllocation", request, pb.CommissionerAllocation, effect
    )


async def _post_allocation(
    conn: asyncpg.Connection,
    request: pb.SetCommissionerAllocationRequest,
    targets: list[model.RingFenceTarget],
) -> pb.CommissionerAllocation:
    ods, year = request.commissioner_ods_code, request.financial_year
    if not await repo.commissioner_exists(conn, ods):
        raise errors.not_found(errors.COMMISSIONER_NOT_FOUND, "commissioner", ods)
    source = chart.commissioner_source(ods, year)
    general = chart.commissioner_allocation(ods, year)
    fences = [(t, chart.ring_fence(ods, year, t.cohort)) for t in targets]
    inserted = await repo.insert_commissioner_allocation(
        conn,
        ods=ods,
        year=year,
        allocation_pence=request.allocation_pence,
        target_bp=request.phb_target_basis_points,
        target_pence=sum(t.target_pence for t in targets),
        source_account_id=source.id,
        allocation_account_id=general.id,
    )
    if not inserted:
        raise errors.exists(
            errors.ALLOCATION_ALREADY_SET,
            f"the {year} allocation of {ods} is set already",
            commissioner_ods_code=ods,
            financial_year=str(year),
        )
    await repo.insert_ring_fences(
        conn, ods, year, [(t.cohort, t.basis_points, t.target_pence, a.id) for t, a in fences]
    )
    await funding.open_accounts(conn, [source, general, *(a for _, a in fences)])
    moves = [Move(source.id, general.id, request.allocation_pence, "allocation", funding=False)]
    moves += [Move(general.id, a.id, t.target_pence, "ring_fence") for t, a in fences]
    await funding.move_money(conn, moves)
    row = await repo.get_commissioner_allocation(conn, ods, year)
    assert row is not None
    payload = ev.CommissionerAllocationSet(
        commissioner_ods_code=ods,
        financial_year=year,
        allocation_pence=request.allocation_pence,
        phb_target_basis_points=request.phb_target_basis_points,
        phb_target_pence=row["phb_target_pence"],
        ring_fences=[
            ev.RingFenceTarget(
                cohort=t.cohort,
                basis_points=t.basis_points,
                target_pence=t.target_pence,
                account_id=str(a.id),
            )
            for t, a in fences
        ],
        allocation_account_id=str(general.id),
    )
    await outgoing.publish(conn, "commissioner", ods, request.request_id, payload)
    return await mapping.allocation_message(conn, row)


async def get_commissioner_allocation(
    pool: asyncpg.Pool, request: pb.GetCommissionerAllocationRequest
) -> pb.CommissionerAllocation:
    v = Violations()
    validation.check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
    validation.check_year(request.financial_year, "financial_year", v)
    v.raise_if_any()
    check_scope(current_actor(), [request.commissioner_ods_code])
    async with pool.acquire() as conn:
        row = await repo.get_commissioner_allocation(
            conn, request.commissioner_ods_code, request.financial_year
        )
        if row is None:
            raise _no_allocation(request.commissioner_ods_code, request.financial_year)
        return await mapping.allocation_message(conn, row)


def _no_allocation(ods: str, year: int) -> Exception:
    return errors.not_found(errors.ALLOCATION_NOT_FOUND, "allocation", f"{ods}/{year}")


async def set_council_allocation(
    pool: asyncpg.Pool, request: pb.SetCouncilAllocationRequest
) -> pb.CouncilAllocation:
    v = Violations()
    check_request_id(request.request_id, v)
    validation.check_gss(request.council_gss_code, "council_gss_code", v)
    validation.check_year(request.financial_year, "financial_year", v)
    check_pence(request.pot_pence, "pot_pence", v)
    v.raise_if_any()
    check_scope(current_actor(), [request.council_gss_code])
    gss, year = request.council_gss_code, request.financial_year

    async def effect(conn: asyncpg.Connection) -> pb.CouncilAllocation:
        if not await repo.council_exists(conn, gss):
            raise errors.not_found(errors.COUNCIL_NOT_FOUND, "council", gss)
        source, pot = chart.council_source(gss, year), chart.council_pot(gss, year)
        inserted = await repo.insert_council_allocation(
            conn,
            gss=gss,
            year=year,
            pot_pence=request.pot_pence,
            source_account_id=source.id,
            account_id=pot.id,
        )
        if not inserted:
            raise errors.exists(
                errors.ALLOCATION_ALREADY_SET,
                f"the {year} personal-budget pot of {gss} is set already",
                council_gss_code=gss,
                financial_year=str(year),
            )
        await funding.open_accounts(conn, [source, pot])
        await funding.move_money(
            conn, [Move(source.id, pot.id, request.pot_pence, "council_pot", funding=False)]
        )
        payload = ev.CouncilAllocationSet(
            council_gss_code=gss,
            financial_year=year,
            pot_pence=request.pot_pence,
            account_id=str(pot.id),
        )
        await outgoing.publish(conn, "council", gss, request.request_id, payload)
        return await council_message(conn, gss, year)

    return await run_idempotent(
        pool, SCHEMA, "SetCouncilAllocation", request, pb.CouncilAllocation, effect
    )


async def council_message(conn: asyncpg.Connection, gss: str, year: int) -> pb.CouncilAllocation:
    row = await repo.get_council_allocation(conn, gss, year)
    assert row is not None
    balance = await store.get_account_balance(conn, row["account_id"])
    assert balance is not None
    return pb.CouncilAllocation(
        council_gss_code=gss,
        financial_year=year,
        pot_pence=row["pot_pence"],
        balance_pence=balance.available,
        account_id=str(row["account_id"]),
    )


async def close_financial_year(
    pool: asyncpg.Pool, request: pb.CloseFinancialYearRequest, today: Callable[[], date]
) -> pb.CommissionerAllocation:
    v = Violations()
    check_request_id(request.request_id, v)
    validation.check_ods(request.commissioner_ods_code, "commissioner_ods_code", v)
    validation.check_year(request.financial_year, "financial_year", v)
    v.raise_if_any()
    check_scope(current_actor(), [request.commissioner_ods_code])

    async def effect(conn: asyncpg.Connection) -> pb.CommissionerAllocation:
        return await _close(conn, request, today())

    return await run_idempotent(
        pool, SCHEMA, "CloseFinancialYear", request, pb.CommissionerAllocation, effect
    )


async def _close(
    conn: asyncpg.Connection, request: pb.CloseFinancialYearRequest, today: date
) -> pb.CommissionerAllocation:
    ods, year = request.commissioner_ods_code, request.financial_year
    row = await repo.get_commissioner_allocation(conn, ods, year, lock="UPDATE")
    if row is None:
        raise _no_allocation(ods, year)
    if row["closed_on"] is not None:
        raise errors.precondition(errors.YEAR_CLOSED, f"{ods}'s year {year} is closed already")
    if not model.financial_year_is_over(year, today):
        raise errors.precondition(
            errors.YEAR_NOT_OVER, f"financial year {year} runs until 31 March {year + 1}"
        )
    fences = await repo.get_ring_fences(conn, ods, year)
    records = await store.lookup_accounts(conn, [f["account_id"] for f in fences])
    left = {r.account.id: r.balance.available for r in records}
    general = row["allocation_account_id"]
    await funding.move_money(
        conn, [Move(f["account_id"], general, left[f["account_id"]], "year_end") for f in fences]
    )
    await repo.close_allocation(conn, ods, year, today)
    payload = ev.FinancialYearClosed(
        commissioner_ods_code=ods,
        financial_year=year,
        closed_on=today.isoformat(),
        returned_pence=sum(left.values()),
        ring_fences_returned=[
            ev.RingFenceTarget(
                cohort=f["cohort"],
                basis_points=f["basis_points"],
                target_pence=left[f["account_id"]],
                account_id=str(f["account_id"]),
            )
            for f in fences
        ],
    )
    await outgoing.publish(conn, "commissioner", ods, request.request_id, payload)
    closed = await repo.get_commissioner_allocation(conn, ods, year)
    return await mapping.allocation_message(conn, closed)
