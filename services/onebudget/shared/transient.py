"""Which failures are transient: the one decision every retrier, the gRPC edge and every
supervised task use.

A failure is *transient* when the same work can succeed later without any change to it: the
database connection was lost or refused (a restart, a failover), the server is starting or
shutting down, too many connections, a serialisation failure or a deadlock (PostgreSQL aborted
one transaction of two), a lock or statement timeout, or a network time-out. Anything else (a
constraint violation, a bug, bad data) is *permanent*: retrying it gives the same answer.

What follows from the kind, everywhere:
- the gRPC edge answers UNAVAILABLE (connection-class) or ABORTED (concurrency-class), both with
  google.rpc.RetryInfo, never INTERNAL, so clients retry with the same request_id;
- an event consumer retries a transient failure until the event applies, and never counts it
  toward its poison limit;
- a supervised background task restarts with back-off and fresh connections.
"""

from __future__ import annotations

import enum

import asyncpg
import nats.errors

from onebudget.shared.errors import Aborted, DomainError, Unavailable

# SQLSTATE classes and codes (PostgreSQL, Appendix A: Error Codes).
_CONNECTION_CLASS = "08"  # connection exception
_OPERATOR_INTERVENTION = "57"  # admin_shutdown 57P01, crash_shutdown 57P02, cannot_connect 57P03
_INSUFFICIENT_RESOURCES = "53"  # too_many_connections 53300 and friends
_CONCURRENCY_CODES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout)
    }
)


class Transience(enum.Enum):
    PERMANENT = "permanent"
    UNAVAILABLE = "unavailable"  # the database or the bus cannot be reached: retry later
    ABORTED = "aborted"  # a concurrent transaction won: retry now


def transience(error: BaseException) -> Transience:
    """How to treat `error`: PERMANENT, or transient as UNAVAILABLE or ABORTED (see module)."""
    if isinstance(error, asyncpg.PostgresError):
        code = str(getattr(error, "sqlstate", "") or "")
        if code in _CONCURRENCY_CODES:
            return Transience.ABORTED
        if code[:2] in (_CONNECTION_CLASS, _OPERATOR_INTERVENTION, _INSUFFICIENT_RESOURCES):
            return Transience.UNAVAILABLE
        return Transience.PERMANENT
    if isinstance(error, asyncpg.InterfaceError):
        # asyncpg says "connection is closed" / "the pool is closing" this way; its other
        # interface errors (an operation already in progress, a bad argument) are our bugs.
        return Transience.UNAVAILABLE if "clos" in str(error) else Transience.PERMANENT
    if isinstance(
        error,
        nats.errors.ConnectionClosedError
        | nats.errors.NoServersError
        | nats.errors.ConnectionReconnectingError
        | nats.errors.StaleConnectionError
        | nats.errors.TimeoutError
        | nats.errors.NoRespondersError,
    ):
        return Transience.UNAVAILABLE  # the bus is away; nats-py reconnects by itself
    if isinstance(error, ConnectionError | OSError | TimeoutError):
        return Transience.UNAVAILABLE  # refused, reset, unreachable, timed out (DB or NATS)
    return Transience.PERMANENT


def is_transient(error: BaseException) -> bool:
    return transience(error) is not Transience.PERMANENT


def as_retryable(error: BaseException) -> DomainError | None:
    """The typed error a caller sees for a transient failure (UNAVAILABLE or ABORTED, with
    RetryInfo), or None for a permanent one."""
    kind = transience(error)
    if kind is Transience.UNAVAILABLE:
        return Unavailable(
            reason="BACKEND_UNAVAILABLE",
            message="the database or the event bus is unavailable; retry with the same request_id",
        )
    if kind is Transience.ABORTED:
        return Aborted(
            reason="TRANSACTION_ABORTED",
            message="a concurrent transaction got in the way; retry with the same request_id",
        )
    return None
