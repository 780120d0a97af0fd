"""The partners' client's retry rule and refusal reading (services/onebudget-client/): retried
only when sending the same request again may succeed (UNAVAILABLE, ABORTED, REQUEST_IN_FLIGHT),
always with the same request (so the same request_id), within the policy's attempts; every
other answer raised at once as a OneBudgetError with code, reason, metadata and violations."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from onebudget_client import OneBudgetError, PaymentClient, RetryPolicy, is_retryable
from onebudget_client.v1 import payment_service_pb2 as api


class _Failed(grpc.RpcError):  # type: ignore[misc]
    """A failed call as grpc raises it: code, details and the trailing status details."""

    def __init__(self, code: grpc.StatusCode, reason: str = "", **extra: Any) -> None:
        self._code = code
        status = status_pb2.Status(code=code.value[0], message=f"{code.name} for the test")
        if reason:
            info = error_details_pb2.ErrorInfo(
                reason=reason, domain="payment.onebudget", metadata=extra.get("metadata", {})
            )
            status.details.append(_pack(info))
        if "fields" in extra:
            bad = error_details_pb2.BadRequest()
            for name in extra["fields"]:
                bad.field_violations.add(field=name, description="whole pence from 1")
            status.details.append(_pack(bad))
        if "retry_ms" in extra:
            delay = duration_pb2.Duration()
            delay.FromMilliseconds(extra["retry_ms"])
            status.details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
        self._trailers = (("grpc-status-details-bin", status.SerializeToString()),)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "from the transport"

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailers


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class _Stub:
    """Answers ReleasePayment from a script of failures, then a payment; records requests."""

    def __init__(self, failures: list[_Failed]) -> None:
        self.failures = failures
        self.requests: list[api.ReleasePaymentRequest] = []

    def ReleasePayment(self, request: api.ReleasePaymentRequest, **_: Any) -> api.Payment:
        self.requests.append(request)
        if self.failures:
            raise self.failures.pop(0)
        return api.Payment(payment_id="p-1", amount_pence=request.amount_pence)


def _client(stub: _Stub, waits: list[float], attempts: int = 4) -> PaymentClient:
    client = PaymentClient(
        grpc.insecure_channel("127.0.0.1:9"),
        retry=RetryPolicy(attempts=attempts, initial_backoff_s=0.1, max_backoff_s=0.3),
        sleep=waits.append,
    )
    client._stub = stub
    return client


def _release(client: PaymentClient, request_id: str | None = None) -> api.Payment:
    return client.release_payment(
        budget_id="b",
        plan_line_id="l",
        payee_id="p",
        amount_pence=333,
        service_period_start="2026-05-01",
        service_period_end="2026-05-31",
        request_id=request_id,
    )


@pytest.mark.parametrize(
    "failure",
    [
        _Failed(grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE"),
        _Failed(grpc.StatusCode.ABORTED, "TRANSACTION_ABORTED"),
        _Failed(grpc.StatusCode.FAILED_PRECONDITION, "REQUEST_IN_FLIGHT"),
    ],
)
def test_a_transient_failure_is_retried_with_the_same_request_id(failure: _Failed) -> None:
    stub, waits = _Stub([failure, failure]), list[float]()
    paid = _release(_client(stub, waits))
    assert paid.payment_id == "p-1"
    assert len(stub.requests) == 3
    assert len({r.request_id for r in stub.requests}) == 1, "a retry must resend the same id"
    assert stub.requests[0].request_id, "a request_id is chosen when none is given"
    assert len(waits) == 2
    assert 0.05 <= waits[0] <= 0.1
    assert 0.1 <= waits[1] <= 0.2


def test_the_callers_request_id_is_sent() -> None:
    stub = _Stub([])
    _release(_client(stub, []), request_id="my-own-id")
    assert stub.requests[0].request_id == "my-own-id"


def test_retries_stop_after_the_policys_attempts_and_raise_the_last_failure() -> None:
    down = _Failed(grpc.StatusCode.UNAVAILABLE, "BACKEND_UNAVAILABLE", retry_ms=2_000)
    stub, waits = _Stub([down] * 10), list[float]()
    with pytest.raises(OneBudgetError) as raised:
        _release(_client(stub, waits, attempts=3))
    assert len(stub.requests) == 3
    assert waits == [2.0, 2.0], "never sooner than the server's RetryInfo asks"
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE
    assert raised.value.retry_after_s == 2.0


@pytest.mark.parametrize(
    ("failure", "code", "reason"),
    [
        (
            _Failed(
                grpc.StatusCode.FAILED_PRECONDITION,
                "INSUFFICIENT_FUNDS",
                metadata={"nhs_shortfall_pence": "120"},
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INSUFFICIENT_FUNDS",
        ),
        (
            _Failed(grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED"),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_REUSED",
        ),
        (_Failed(grpc.StatusCode.DEADLINE_EXCEEDED), grpc.StatusCode.DEADLINE_EXCEEDED, ""),
    ],
)
def test_an_answer_is_raised_at_once_as_a_typed_refusal(
    failure: _Failed, code: grpc.StatusCode, reason: str
) -> None:
    stub, waits = _Stub([failure]), list[float]()
    with pytest.raises(OneBudgetError) as raised:
        _release(_client(stub, waits))
    assert (raised.value.code, raised.value.reason) == (code, reason)
    assert len(stub.requests) == 1
    assert waits == []
    assert not is_retryable(raised.value)


def test_a_refusal_carries_reason_domain_metadata_and_field_violations() -> None:
    error = OneBudgetError.from_rpc_error(
        _Failed(
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_REQUEST",
            metadata={"field": "amount_pence"},
            fields=["amount_pence", "payee_id"],
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.domain) == ("INVALID_REQUEST", "payment.onebudget")
    assert dict(error.metadata) == {"field": "amount_pence"}
    assert [v.field for v in error.field_violations] == ["amount_pence", "payee_id"]
    assert error.message == "INVALID_ARGUMENT for the test"
    assert "INVALID_REQUEST" in str(error)


def test_a_policy_backs_off_exponentially_to_its_ceiling() -> None:
    policy = RetryPolicy(attempts=6, initial_backoff_s=0.1, max_backoff_s=0.5, multiplier=2)
    assert list(policy.backoffs()) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert list(RetryPolicy(attempts=1).backoffs()) == []
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_the_partners_example_compiles_and_its_names_exist() -> None:
    """docs/partners.md's ReleasePayment example: valid Python, importing what the package has,
    calling the method with the client's own keyword arguments."""
    import ast
    import inspect
    from pathlib import Path

    import onebudget_client

    text = (Path(__file__).resolve().parents[2] / "docs" / "partners.md").read_text()
    (example,) = [b.split("\n", 1)[1] for b in text.split("```python")[1:2]]
    tree = ast.parse(example.split("```", 1)[0])
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "onebudget_client"
        for alias in node.names
    }
    assert imported == {"OneBudgetError", "PaymentClient", "RetryPolicy", "new_request_id"}
    assert imported <= set(onebudget_client.__all__)
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "release_payment"
    ]
    assert len(calls) == 1
    accepted = set(inspect.signature(PaymentClient.release_payment).parameters) - {"self"}
    assert {k.arg for k in calls[0].keywords} == accepted
