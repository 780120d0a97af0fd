"""`onebudget audit verify`: recompute every service's audit trail chain and check it against its
latest anchor in JetStream; one line per problem (with the record's position), exit 1 on any.
`onebudget audit list`: page through every service's trail (their `ListAuditRecords`), filtered by
organisation, actor, resource and time, merged by time (ADR 17; docs/audit.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime

import grpc
from google.protobuf import timestamp_pb2

from onebudget.audit.v1 import audit_service_pb2 as pb
from onebudget.audit.v1 import audit_service_pb2_grpc as pb_grpc
from onebudget.ledger.cli import _connect_db, _connect_nats, _run, _urls
from onebudget.shared.audit_anchor import SERVICE_SCHEMAS, verify_trail
from onebudget.shared.channels import open_channel
from onebudget.shared.client import explain, organisation_code, service_address, table, whole_number
from onebudget.shared.progress import Progress


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = subparsers.add_parser("audit", help="the audit trail: verify it")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "verify",
        help="recompute each service's audit trail chain and check it against its latest anchor"
        " (ONEBUDGET_DATABASE_URL and ONEBUDGET_NATS_URL, else those of the stack `onebudget up`"
        " runs here)",
    )
    run.add_argument(
        "--service",
        action="append",
        choices=SERVICE_SCHEMAS,
        help="only this service's trail (repeatable; default: every service's)",
    )
    run.set_defaults(func=_verify_command)
    listing = commands.add_parser(
        "list",
        help="the records of every service's trail (who, what, when, outcome), oldest first",
    )
    listing.add_argument(
        "--org",
        type=organisation_code,
        default="",
        help="only actors acting for this ODS / GSS code",
    )
    listing.add_argument("--actor", default="", help="only this actor (the token's subject)")
    listing.add_argument(
        "--resource", default="", help="only this resource, e.g. people/<uuid>, budgets/<uuid>"
    )
    listing.add_argument(
        "--since", type=_instant, help="from this date (YYYY-MM-DD) or instant (ISO 8601, UTC)"
    )
    listing.add_argument("--until", type=_instant, help="before this date or instant")
    listing.add_argument(
        "--service", action="append", choices=SERVICE_SCHEMAS, help="only this service's trail"
    )
    listing.add_argument(
        "--limit",
        type=whole_number(1, LIMIT_MAX),
        default=1_000,
        help=f"at most this many records, 1 to {LIMIT_MAX:,} (default 1000)",
    )
    listing.set_defaults(func=_list_command, check=_checks_for(listing))


CALL_TIMEOUT_S = 10.0
PAGE_SIZE = 200
LIMIT_MAX = 1_000_000  # records `audit list` prints at most


def _instant(text: str) -> datetime:
    """A date is its first instant, 00:00 UTC; an instant without a zone is UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        found = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not YYYY-MM-DD or an ISO 8601 instant"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def list_records(
    stub: pb_grpc.AuditServiceStub, request: pb.ListAuditRecordsRequest, limit: int
) -> tuple[str, list[pb.AuditRecord]]:
    """One service's records matching `request`, page by page, at most `limit`."""
    found: list[pb.AuditRecord] = []
    service = ""
    while len(found) < limit:
        page: pb.ListAuditRecordsResponse = stub.ListAuditRecords(request, timeout=CALL_TIMEOUT_S)
        service = page.service
        found.extend(page.records)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    return service, found[:limit]


def time_range_error(since: datetime | None, until: datetime | None) -> str:
    """Why `--since` / `--until` cannot both hold, in the options the user typed ("" when
    they can): the services' ListAuditRecords would refuse it naming its own fields
    (`end_time`, `start_time`), which the user never typed (issue 16)."""
    if since is not None and until is not None and not since < until:
        return (
            f"argument --until: {until.isoformat()} is not after --since {since.isoformat()}"
            " (--until is the first instant not listed)"
        )
    return ""


def _checks_for(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """What argparse cannot check option by option (`onebudget.cli.main` runs it before any
    login or call): a usage error, exit 2, from `parser`."""

    def check(args: argparse.Namespace) -> None:
        refused = time_range_error(args.since, args.until)
        if refused:
            parser.error(refused)

    return check


def _list_command(args: argparse.Namespace) -> int:
    rows: list[tuple[str, pb.AuditRecord]] = []
    for name in args.service or SERVICE_SCHEMAS:
        request = pb.ListAuditRecordsRequest(
            page_size=PAGE_SIZE,
            organisation=args.org,
            subject=args.actor,
            resource=args.resource,
        )
        if args.since is not None:
            request.start_time.CopyFrom(_timestamp(args.since))
        if args.until is not None:
            request.end_time.CopyFrom(_timestamp(args.until))
        with open_channel(service_address(name)) as channel:
            stub = pb_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]
            try:
                service, records = list_records(stub, request, args.limit)
            except grpc.RpcError as error:
                print(f"{name}: {explain(error)}", file=sys.stderr)
                return 1
        rows.extend((service or name, r) for r in records)
    rows.sort(key=lambda sr: (sr[1].time.ToDatetime(), sr[0], sr[1].seq))
    print(
        table(
            [
                "time",
                "service",
                "seq",
                "actor",
                "role",
                "organisations",
                "method",
                "resource",
                "outcome",
                "reason",
            ],
            [
                [
                    r.time.ToDatetime().isoformat(timespec="milliseconds") + "Z",
                    service,
                    r.seq,
                    r.subject,
                    r.role,
                    ",".join(r.organisations),
                    r.method,
                    r.resource,
                    r.outcome,
                    r.reason,
                ]
                for service, r in rows[: args.limit]
            ],
        )
    )
    return 0


async def _verify(url: str, nats_url: str, schemas: tuple[str, ...]) -> list[str]:
    conn = await _connect_db(url)
    try:
        present = [
            s
            for s in schemas
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{s}.audit_log")
        ]
        # Each trail is read whole: the progress by trail (shared/progress) on stderr.
        with Progress("audit verify", len(present), unit="trails") as progress:
            nc = await _connect_nats(nats_url) if nats_url else None
            try:
                js = nc.jetstream() if nc is not None else None
                problems: list[str] = []
                for schema in present:
                    problems += await verify_trail(conn, schema, js)
                    progress.advance()
                return problems
            finally:
                if nc is not None:
                    await nc.close()
    finally:
        await conn.close()


def _verify_command(args: argparse.Namespace) -> int:
    url, nats_url = _urls()
    if not nats_url:
        print(
            "ONEBUDGET_NATS_URL is not set and no stack runs here: the trails are not checked"
            " against their anchors",
            file=sys.stderr,
        )
    problems = _run(_verify(url, nats_url, tuple(args.service or SERVICE_SCHEMAS)))
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("OK")
    return 0
