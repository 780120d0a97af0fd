"""Typed errors that a domain raises and the gRPC edge maps to `google.rpc.Status`.

Each error carries a stable `reason` (an UPPER_SNAKE constant, never renamed: clients branch on
it) and optional metadata; `InvalidArgument` also carries field violations. Anything else that
escapes a handler becomes INTERNAL with no detail, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass
class DomainError(Exception):
    """Base of every business-rule error."""

    reason: str
    message: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)
        assert self.reason.isupper(), "reasons are UPPER_SNAKE constants"


@dataclass
class InvalidArgument(DomainError):
    """Malformed input, whatever the state (INVALID_ARGUMENT)."""

    violations: tuple[FieldViolation, ...] = ()


@dataclass
class FailedPrecondition(DomainError):
    """Well-formed input the current state does not allow (FAILED_PRECONDITION)."""


@dataclass
class NotFound(DomainError):
    """The named resource does not exist (NOT_FOUND)."""


@dataclass
class AlreadyExists(DomainError):
    """The resource exists already (ALREADY_EXISTS)."""


@dataclass
class Aborted(DomainError):
    """A concurrent change got in the way and nothing was done (ABORTED): the caller retries the
    same request, with the same request_id, after `retry_after_ms` milliseconds (sent as
    google.rpc.RetryInfo). Never a precondition the caller cannot fix."""

    retry_after_ms: int = 100


@dataclass
class Unavailable(DomainError):
    """A backend (the database, the bus) cannot be reached now (UNAVAILABLE): nothing was done,
    or the request_id makes a retry safe; retry after `retry_after_ms` (google.rpc.RetryInfo)."""

    retry_after_ms: int = 1_000


class Violations:
    """Collects field violations so a request reports all its faults at once."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field_name: str, description: str) -> None:
        self._items.append(FieldViolation(field_name, description))

    def check(self, ok: bool, field_name: str, description: str) -> None:
        if not ok:
            self.add(field_name, description)

    def raise_if_any(self, message: str = "the request has invalid fields") -> None:
        if self._items:
            raise InvalidArgument(
                reason="INVALID_REQUEST", message=message, violations=tuple(self._items)
            )

    def __bool__(self) -> bool:
        return bool(self._items)


@dataclass
class Unauthenticated(DomainError):
    """The caller is not proven (UNAUTHENTICATED): no bearer token, or one that is expired, not
    yet valid, forged, signed with another key or `alg: none`, or for another issuer or
    audience (issue 14, shared/auth.py). Nothing was done."""


@dataclass
class PermissionDenied(DomainError):
    """A proven caller may not do this (PERMISSION_DENIED): its role is not allowed the method,
    or the resource belongs to an organisation (or person) it does not act for
    (shared/permissions.py). Nothing was done."""
