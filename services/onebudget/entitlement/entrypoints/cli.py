"""`onebudget people register|show|list` and `onebudget eligibility record|list`: the entitlement
API from the command line, printed as tables. The service address comes from
ONEBUDGET_ENTITLEMENT_ADDRESS (default 127.0.0.1:50051)."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from onebudget.entitlement.domain.model import Category
from onebudget.entitlement.v1 import entitlement_service_pb2 as api
from onebudget.entitlement.v1 import entitlement_service_pb2_grpc as api_grpc
from onebudget.shared.channels import open_channel
from onebudget.shared.client import (
    explain,
    organisation_code,
    request_id,
    service_address,
    table,
    whole_number,
)
from onebudget.shared.paging import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX

CALL_TIMEOUT_S = 10.0
CATEGORIES = [c.value for c in Category]


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_people(subparsers)
    _add_eligibility(subparsers)


def _add_people(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = subparsers.add_parser("people", help="register, show and list people")
    verbs = people.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    register = verbs.add_parser("register", help="register a person")
    register.add_argument("--nhs-number", required=True)
    register.add_argument("--given-name", required=True)
    register.add_argument("--family-name", required=True)
    register.add_argument("--date-of-birth", required=True, help="YYYY-MM-DD")
    register.add_argument(
        "--commissioner", type=organisation_code, required=True, help="ODS code, e.g. QNQ"
    )
    register.add_argument(
        "--council", type=organisation_code, required=True, help="GSS code, e.g. E10000014"
    )
    register.add_argument("--request-id", type=request_id, default="", help="reuse to retry safely")
    register.set_defaults(func=_call(_people_register))
    show = verbs.add_parser("show", help="show one person")
    show.add_argument("person_id")
    show.set_defaults(func=_call(_people_show))
    listing = verbs.add_parser("list", help="list people")
    listing.add_argument("--commissioner", type=organisation_code, default="")
    listing.add_argument("--council", type=organisation_code, default="")
    listing.add_argument(
        "--page-size",
        type=whole_number(1, PAGE_SIZE_MAX),
        default=PAGE_SIZE_DEFAULT,
        help=f"people per page, 1 to {PAGE_SIZE_MAX} (default {PAGE_SIZE_DEFAULT})",
    )
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.set_defaults(func=_call(_people_list))


def _add_eligibility(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    eligibility = subparsers.add_parser("eligibility", help="record and list eligibility")
    verbs = eligibility.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    record = verbs.add_parser("record", help="record an eligibility decision")
    record.add_argument("person_id")
    record.add_argument("--category", required=True, choices=CATEGORIES)
    record.add_argument("--refused", action="store_true", help="a refusal (needs --reason)")
    record.add_argument("--reason", action="append", default=[], help="repeat for several")
    record.add_argument("--decided-on", required=True, help="YYYY-MM-DD")
    record.add_argument("--deciding-body", required=True)
    record.add_argument("--request-id", type=request_id, default="")
    record.set_defaults(func=_call(_eligibility_record))
    listing = verbs.add_parser("list", help="a person's decisions, newest first")
    listing.add_argument("person_id")
    listing.set_defaults(func=_call(_eligibility_list))


Stub = Any  # api_grpc.EntitlementServiceStub
Action = Callable[[Stub, argparse.Namespace], None]


def _call(action: Action) -> Callable[[argparse.Namespace], int]:
    """Open a channel, run the action, and turn an RPC error into a readable message, exit 1."""

    def run(args: argparse.Namespace) -> int:
        with open_channel(service_address("entitlement")) as channel:
            stub = api_grpc.EntitlementServiceStub(channel)  # type: ignore[no-untyped-call]
            try:
                action(stub, args)
            except grpc.RpcError as error:
                print(explain(error), file=sys.stderr)
                return 1
        return 0

    return run


_PERSON_HEADERS = ("PERSON ID", "NHS NUMBER", "NAME", "BORN", "COMMISSIONER", "COUNCIL", "STATE")


def _person_row(p: api.Person) -> list[str]:
    return [
        p.person_id,
        p.nhs_number,
        f"{p.given_name} {p.family_name}",
        p.date_of_birth,
        p.commissioner_ods_code,
        p.council_gss_code,
        api.PersonState.Name(p.state).removeprefix("PERSON_STATE_"),
    ]


def _people_register(stub: Stub, args: argparse.Namespace) -> None:
    person = stub.RegisterPerson(
        api.RegisterPersonRequest(
            request_id=args.request_id or str(uuid.uuid4()),
            nhs_number=args.nhs_number,
            given_name=args.given_name,
            family_name=args.family_name,
            date_of_birth=args.date_of_birth,
            commissioner_ods_code=args.commissioner,
            council_gss_code=args.council,
        ),
        timeout=CALL_TIMEOUT_S,
    )
    print(table(_PERSON_HEADERS, [_person_row(person)]))


def _people_show(stub: Stub, args: argparse.Namespace) -> None:
    person = stub.GetPerson(api.GetPersonRequest(person_id=args.person_id), timeout=CALL_TIMEOUT_S)
    print(table(_PERSON_HEADERS, [_person_row(person)]))


def _people_list(stub: Stub, args: argparse.Namespace) -> None:
    rows: list[list[str]] = []
    token = ""
    while True:
        page = stub.ListPeople(
            api.ListPeopleRequest(
                page_size=args.page_size,
                page_token=token,
                commissioner_ods_code=args.commissioner,
                council_gss_code=args.council,
            ),
            timeout=CALL_TIMEOUT_S,
        )
        rows += [_person_row(p) for p in page.people]
        token = page.next_page_token
        if not token or not args.all:
            break
    print(table(_PERSON_HEADERS, rows))
    if token:
        print("(more: use --all)")


_DECISION_HEADERS = ("DECISION ID", "CATEGORY", "OUTCOME", "DECIDED ON", "AGE", "BY", "REASONS")


def _decision_row(d: api.EligibilityDecision) -> list[str]:
    return [
        d.decision_id,
        api.EligibilityCategory.Name(d.category).removeprefix("ELIGIBILITY_CATEGORY_"),
        api.DecisionOutcome.Name(d.outcome).removeprefix("DECISION_OUTCOME_"),
        d.decided_on,
        str(d.age_on_decision),
        d.deciding_body,
        "; ".join(d.reasons),
    ]


def _eligibility_record(stub: Stub, args: argparse.Namespace) -> None:
    decision = stub.RecordEligibilityDecision(
        api.RecordEligibilityDecisionRequest(
            request_id=args.request_id or str(uuid.uuid4()),
            person_id=args.person_id,
            category=f"ELIGIBILITY_CATEGORY_{args.category}",
            outcome="DECISION_OUTCOME_REFUSED" if args.refused else "DECISION_OUTCOME_GRANTED",
            reasons=args.reason,
            decided_on=args.decided_on,
            deciding_body=args.deciding_body,
        ),
        timeout=CALL_TIMEOUT_S,
    )
    print(table(_DECISION_HEADERS, [_decision_row(decision)]))


def _eligibility_list(stub: Stub, args: argparse.Namespace) -> None:
    rows: list[list[str]] = []
    token = ""
    while True:
        page = stub.ListEligibility(
            api.ListEligibilityRequest(person_id=args.person_id, page_token=token),
            timeout=CALL_TIMEOUT_S,
        )
        rows += [_decision_row(d) for d in page.decisions]
        token = page.next_page_token
        if not token:
            break
    print(table(_DECISION_HEADERS, rows))
