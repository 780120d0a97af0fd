"""A refusal or failure of a OneBudget call, as one typed exception.

OneBudget answers an error with a `google.rpc.Status` in the call's trailing metadata
(`grpc-status-details-bin`): an `ErrorInfo` whose `reason` is a stable UPPER_SNAKE constant that
programs branch on (never on the message), its `domain` (e.g. "payment.onebudget") and
`metadata` (e.g. `nhs_shortfall_pence` of INSUFFICIENT_FUNDS); a `BadRequest` with the fields at
fault for INVALID_ARGUMENT; a `RetryInfo` for UNAVAILABLE and ABORTED. docs/api.md lists every
RPC's codes and reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (e.g. "amount_pence") and what is wrong."""

    field: str
    description: str


@dataclass
class OneBudgetError(Exception):
    """A call that OneBudget refused or could not answer.

    `code` is the gRPC status code; `reason`, `domain` and `metadata` come from the ErrorInfo
    ("" and {} when the server sent none, e.g. a deadline passed on the client);
    `field_violations` from BadRequest; `retry_after_s` from RetryInfo (None when absent).
    """

    code: grpc.StatusCode
    reason: str
    message: str
    domain: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    field_violations: tuple[FieldViolation, ...] = ()
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.code.name} {self.reason or '-'}: {self.message}")

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> OneBudgetError:
        """Read the status, ErrorInfo, BadRequest and RetryInfo of a failed call."""
        call: Any = error
        code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
        message = (call.details() if hasattr(call, "details") else "") or ""
        trailers = call.trailing_metadata() if hasattr(call, "trailing_metadata") else None
        status = status_pb2.Status(message=message)
        for key, value in trailers or ():
            if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
                status = status_pb2.Status.FromString(value)
        reason, domain, metadata = "", "", {}
        violations: list[FieldViolation] = []
        retry_after_s: float | None = None
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after_s = retry.retry_delay.ToTimedelta().total_seconds()
        return cls(
            code=code,
            reason=reason,
            message=status.message or message,
            domain=domain,
            metadata=metadata,
            field_violations=tuple(violations),
            retry_after_s=retry_after_s,
        )
