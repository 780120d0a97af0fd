"""What every client of the services needs (CLIs, the demo, tests): where a service listens,
what a refusal says, and a plain-text table."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from onebudget.shared.channels import open_channel
from onebudget.shared.errors import Violations
from onebudget.shared.identifiers import is_organisation_code
from onebudget.shared.money import BASIS_POINTS_WHOLE, PENCE_MAX, PENCE_MIN
from onebudget.shared.request_keys import canonical_request_id

# Where a service listens: one decision, with the stack `onebudget up` started (its state file).
from onebudget.shared.runtime.stack_state import DEFAULT_ADDRESSES, service_address
from onebudget.shared.validation import DATE_MAX, DATE_MIN, check_pence, parse_date

__all__ = [
    "BASIS_POINTS",
    "DEFAULT_ADDRESSES",
    "PENCE",
    "RETRYING_CHANNEL_OPTIONS",
    "YEAR",
    "calendar_date",
    "error_details",
    "error_reason",
    "explain",
    "output_path",
    "seconds",
    "service_address",
    "table",
    "whole_number",
    "write_output",
]

# gRPC's own retries (the channel's service config, gRFC A6) of a call the service could not
# take: UNAVAILABLE (a service restarting, the database or the bus away) and ABORTED (a
# concurrent transaction won). Safe for every OneBudget call: each mutation is idempotent by its
# request_id, so a retry gets the first answer. Five attempts (gRPC's most) over about 15 s.
RETRYING_CHANNEL_OPTIONS = (
    (
        "grpc.service_config",
        json.dumps(
            {
                "methodConfig": [
                    {
                        "name": [{}],
                        "retryPolicy": {
                            "maxAttempts": 5,
                            "initialBackoff": "1s",
                            "maxBackoff": "8s",
                            "backoffMultiplier": 2,
                            "retryableStatusCodes": ["UNAVAILABLE", "ABORTED"],
                        },
                    }
                ]
            }
        ),
    ),
    ("grpc.enable_retries", 1),
)


def whole_number(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse `type` for a whole number from `low` to `high`: anything else is one line
    naming the argument and the range (argparse.ArgumentTypeError), never a Python error such
    as protobuf's "Value out of range" for an int64 field."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not {what} from {low:,} to {high:,}")
        return value

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    """An argparse `type` for a duration in seconds from `low` to `high` (a decimal number);
    anything else is one line naming the argument and the range."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is not seconds from {low:g} to {high:g}")
        return value

    return parse


STDOUT = "-"  # an output path of "-" is standard output (the Unix convention)


def output_path(text: str) -> str:
    """An argparse `type` for a file the command writes: "-" is standard output; otherwise a
    file in a directory that exists (argparse.ArgumentTypeError, one line naming the argument,
    when the directory is missing or the path is a directory), never a FileNotFoundError
    when the command has already called the service."""
    if text == STDOUT:
        return text
    if not text:
        raise argparse.ArgumentTypeError("an empty path (use - for standard output)")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no directory {path.parent}")
    return text


class OutputFailed(Exception):
    """A command's output file could not be written (one line naming the argument)."""


def write_output(target: str, data: bytes, option: str = "--out") -> str:
    """Write `data` to `target` ("-": standard output, unbuffered bytes) and say where: the
    path, or "standard output". A file that cannot be written (the directory went, no
    permission, a full disk) raises OutputFailed naming `option`, never a traceback."""
    if target == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return "standard output"
    try:
        Path(target).write_bytes(data)
    except OSError as error:
        raise OutputFailed(
            f"argument {option}: cannot write {target}: {error.strerror or error}"
        ) from None
    return target


def pence(low: int = PENCE_MIN) -> Callable[[str], int]:
    """An argparse `type` for an amount in whole pence, judged by the services' own rule
    (shared/validation.check_pence, from `low`, PENCE_MIN = 1p by default, to PENCE_MAX):
    what the command takes is what the API takes, so 0p is refused here as the service
    refuses it, in one line naming the option."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not whole pence") from None
        violations = Violations()
        check_pence(value, "amount", violations, low=low)
        if violations:
            raise argparse.ArgumentTypeError(
                f"{text} is not whole pence from {low:,} to {PENCE_MAX:,}"
            )
        return value

    return parse


def calendar_date(text: str) -> str:
    """An argparse `type` for an England calendar date YYYY-MM-DD, judged by the services' own
    rule (shared/validation.parse_date: DATE_MIN to DATE_MAX); the text as the API takes it, or
    one line naming the option. "" (the options' default: none given) is kept as it is."""
    if not text:
        return text
    violations = Violations()
    if parse_date(text, "date", violations, required=True) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date YYYY-MM-DD from {DATE_MIN.isoformat()} to"
            f" {DATE_MAX.isoformat()}"
        )
    return text


# The CLIs' number arguments, bounded where the API's fields are (the service then judges the
# value itself: a year it does not know, an amount a line cannot pay).
def organisation_code(text: str) -> str:
    """An argparse `type` for an ODS (commissioner) or GSS (council) code, judged by the
    services' own rule (shared/identifiers.is_organisation_code); one line naming the option
    otherwise. "" (an optional filter left out) is kept."""
    if text and not is_organisation_code(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ODS or GSS code (e.g. QNQ, 00L, E10000015; capital letters)"
        )
    return text


def resource_id(text: str) -> str:
    """An argparse `type` for a resource's id (a person, a budget, a payment...): a UUID, in
    the spellings the API accepts (shared/request_keys.canonical_request_id); "" is kept."""
    if text and canonical_request_id(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a UUID, as the API gives it)")
    return text


def request_id(text: str) -> str:
    """An argparse `type` for `--request-id`: a UUID the services accept (AIP-155,
    shared/request_keys.py), or "" for a new one."""
    if text and canonical_request_id(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a request id (a UUID, e.g. one printed by an earlier call)"
        )
    return text


YEAR = whole_number(0, 9_999, "a year")
PENCE = pence()
BASIS_POINTS = whole_number(0, BASIS_POINTS_WHOLE, "basis points")


def error_details(
    error: grpc.aio.AioRpcError | grpc.RpcError,
) -> tuple[error_details_pb2.ErrorInfo | None, error_details_pb2.BadRequest | None]:
    """The ErrorInfo and BadRequest a service put in its google.rpc.Status, if any."""
    info: error_details_pb2.ErrorInfo | None = None
    bad: error_details_pb2.BadRequest | None = None
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
    return info, bad


def error_reason(error: grpc.aio.AioRpcError | grpc.RpcError) -> str:
    """The stable reason of a refusal (ErrorInfo.reason), or "" when there is none."""
    info, _bad = error_details(error)
    return info.reason if info is not None else ""


# Codes a call may end with though the service never decided it (down, unreachable, too slow):
# not a refusal, and the request may or may not have been applied.
NOT_ANSWERED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def explain(error: grpc.aio.AioRpcError, request_id: str = "") -> str:
    """A refusal for people: code, message, reason with its details, and each bad field. A call
    the service never answered (NOT_ANSWERED_CODES without ErrorInfo) is said as such, with the
    `request_id` to retry with: the same id can never pay twice (issue 16)."""
    info, bad = error_details(error)
    if info is None and error.code() in NOT_ANSWERED_CODES:
        lines = [
            f"not answered ({error.code().name}): the service did not answer, so this may or may"
            " not have been done; is the stack running? (`onebudget status`)"
        ]
        if request_id:
            lines.append(f"  retry safely with: --request-id {request_id}")
        return "\n".join(lines)
    lines = [f"refused: {error.code().name}: {error.details()}"]
    if info is not None:
        lines.append(f"  reason: {info.reason}")
        lines += [f"    {key}: {value}" for key, value in sorted(info.metadata.items())]
    if bad is not None:
        lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
    return "\n".join(lines)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numbers_right: bool = False,
    right: Collection[int] = (),
) -> str:
    """Columns padded to their widest cell, with a rule under the headers; `numbers_right`
    right-aligns every column but the first, `right` the columns at those indexes (figures
    line up by their last digit)."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(c) for c in column) for column in zip(*cells, strict=True)]

    def pad(i: int, text: str, width: int) -> str:
        return text.rjust(width) if (numbers_right and i) or i in right else text.ljust(width)

    lines = [
        "  ".join(pad(i, c, w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def health_of(address: str, timeout_s: float = 3.0) -> tuple[str, list[str]]:
    """A service's health (grpc.health.v1): its overall status name (SERVING, NOT_SERVING, or
    UNREACHABLE when it does not answer) and the names of its parts that are NOT_SERVING (a
    relay, a consumer, a batch worker, the scheduler, `nats`; shared/server.py)."""
    with open_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            overall = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
            listed = stub.List(health_pb2.HealthListRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return "UNREACHABLE", []
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    # Parts are named `<service>.<part>` (and `nats`); the gRPC service names start
    # `onebudget.` and the server as a whole is "".
    failing = sorted(
        name
        for name, answer in listed.statuses.items()
        if answer.status == not_serving
        and (name == "nats" or ("." in name and not name.startswith("onebudget.")))
    )
    return health_pb2.HealthCheckResponse.ServingStatus.Name(overall.status), failing
