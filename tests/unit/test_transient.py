"""The one decision of which failures are worth a retry (shared/transient.py)."""

from __future__ import annotations

import asyncpg
import grpc
import nats.errors
import pytest

from onebudget.shared.errors import Aborted, Unavailable
from onebudget.shared.grpc_edge import status_code_for, to_rpc_status
from onebudget.shared.transient import Transience, as_retryable, transience


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), Transience.UNAVAILABLE),
        (ConnectionResetError(104, "reset"), Transience.UNAVAILABLE),
        (TimeoutError(), Transience.UNAVAILABLE),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), Transience.UNAVAILABLE),
        (asyncpg.exceptions.CannotConnectNowError("starting"), Transience.UNAVAILABLE),
        (asyncpg.exceptions.AdminShutdownError("shutdown"), Transience.UNAVAILABLE),
        (asyncpg.exceptions.TooManyConnectionsError("full"), Transience.UNAVAILABLE),
        (asyncpg.InterfaceError("connection is closed"), Transience.UNAVAILABLE),
        (nats.errors.ConnectionClosedError(), Transience.UNAVAILABLE),
        (nats.errors.NoServersError(), Transience.UNAVAILABLE),
        (asyncpg.exceptions.SerializationError("40001"), Transience.ABORTED),
        (asyncpg.exceptions.DeadlockDetectedError("40P01"), Transience.ABORTED),
        (asyncpg.exceptions.LockNotAvailableError("55P03"), Transience.ABORTED),
        (asyncpg.exceptions.UniqueViolationError("23505"), Transience.PERMANENT),
        (asyncpg.exceptions.UndefinedTableError("42P01"), Transience.PERMANENT),
        (asyncpg.InterfaceError("another operation is in progress"), Transience.PERMANENT),
        (ValueError("a bug"), Transience.PERMANENT),
        (AssertionError("an invariant"), Transience.PERMANENT),
    ],
)
def test_each_failure_has_one_kind(error: BaseException, expected: Transience) -> None:
    assert transience(error) is expected


def test_transient_failures_reach_callers_as_retryable_status_with_retry_info() -> None:
    unavailable = as_retryable(ConnectionRefusedError(111, "refused"))
    aborted = as_retryable(asyncpg.exceptions.DeadlockDetectedError("deadlock"))
    assert isinstance(unavailable, Unavailable)
    assert isinstance(aborted, Aborted)
    assert status_code_for(unavailable) is grpc.StatusCode.UNAVAILABLE
    assert status_code_for(aborted) is grpc.StatusCode.ABORTED
    for error in (unavailable, aborted):
        kinds = [d.TypeName() for d in to_rpc_status(error, "payment.onebudget").details]
        assert kinds == ["google.rpc.ErrorInfo", "google.rpc.RetryInfo"]
    assert as_retryable(ValueError("a bug")) is None
