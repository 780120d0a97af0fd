"""A thin typed client of OneBudget's PaymentService for partners' systems (blocking gRPC).

Each method builds the request, sends it with the client's deadline and call metadata (e.g. a
bearer token), retries under the RetryPolicy with the SAME request_id (safe: the service
answers a repeated request_id with its first answer and never pays twice), and raises
OneBudgetError for a refusal. Amounts are integer pence; dates are England's calendar dates
(`datetime.date` or "YYYY-MM-DD"). The messages returned are the generated ones
(`onebudget_client.v1.payment_service_pb2`), documented field by field in docs/api.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import grpc

from onebudget_client.errors import OneBudgetError
from onebudget_client.retry import RetryPolicy, is_retryable
from onebudget_client.v1 import payment_service_pb2 as payment_pb2
from onebudget_client.v1 import payment_service_pb2_grpc as payment_grpc

Reply = TypeVar("Reply")


def new_request_id() -> str:
    """A fresh request_id (a UUID4 string). Keep it with your own record of the payment, so a
    retry after a crash on your side sends the same id and cannot pay twice."""
    return str(uuid.uuid4())


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else day


class PaymentClient:
    """PaymentService calls with safe retries and typed refusals.

    `channel` is any grpc.Channel (open it with the TLS credentials your deployment uses, or use
    `PaymentClient.connect`); `access_token` is your OAuth 2.0 bearer token, sent with every
    call as `authorization: Bearer ...`; `metadata` is sent with every call too; `timeout_s` is
    each attempt's deadline.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        metadata: Sequence[tuple[str, str]] = (),
        access_token: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._channel = channel
        self._stub: Any = payment_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        self._retry = retry or RetryPolicy()
        self._timeout_s = timeout_s
        # Every business call needs the caller's OAuth 2.0 bearer token (an access token from
        # the identity provider the deployment trusts); without one the service answers
        # UNAUTHENTICATED TOKEN_MISSING.
        bearer = (("authorization", f"Bearer {access_token}"),) if access_token else ()
        self._metadata = tuple(metadata) + bearer
        self._sleep = sleep

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        **kwargs: Any,
    ) -> PaymentClient:
        """A client on a new channel to `address` ("host:port"): TLS when `credentials` is given
        (grpc.ssl_channel_credentials(...)), plaintext otherwise (local stacks only)."""
        if credentials is None:
            channel = grpc.insecure_channel(address)
        else:
            channel = grpc.secure_channel(address, credentials)
        return cls(channel, **kwargs)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> PaymentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def release_payment(
        self,
        *,
        budget_id: str,
        plan_line_id: str,
        payee_id: str,
        amount_pence: int,
        service_period_start: date | str,
        service_period_end: date | str,
        broker_reference: str = "",
        request_id: str | None = None,
    ) -> payment_pb2.Payment:
        """Pay `amount_pence` (integer pence, 1 to 1,000,000,000,000) to a payee against an agreed
        plan line, for care in the service period (England's dates, within the budget's).

        Raises OneBudgetError: FAILED_PRECONDITION with reason BUDGET_NOT_ACTIVE,
        SERVICE_PERIOD_OUTSIDE_BUDGET, PLAN_LINE_NOT_AGREED, CATEGORY_EXCLUDED,
        PAYEE_NOT_FOR_MANAGEMENT_OPTION, DIRECT_PAYMENT_ACCOUNT_OF_ANOTHER_PERSON,
        PAYEE_NOT_ALLOWED, FAMILY_PAYEE_NOT_APPROVED, PLAN_LINE_EXCEEDED, INSUFFICIENT_FUNDS
        (metadata <stream>_shortfall_pence) or PAYMENTS_STOPPED; NOT_FOUND (BUDGET_NOT_FOUND,
        PLAN_LINE_NOT_FOUND, PAYEE_NOT_FOUND); INVALID_ARGUMENT (field_violations);
        ALREADY_EXISTS REQUEST_ID_REUSED (the id named another request). Pass your own
        `request_id` to make the call safe to repeat across restarts of your system.
        """
        request = payment_pb2.ReleasePaymentRequest(
            request_id=request_id or new_request_id(),
            budget_id=budget_id,
            plan_line_id=plan_line_id,
            payee_id=payee_id,
            amount_pence=amount_pence,
            service_period_start=_iso(service_period_start),
            service_period_end=_iso(service_period_end),
            broker_reference=broker_reference,
        )
        reply: payment_pb2.Payment = self._call(self._stub.ReleasePayment, request)
        return reply

    def reserve_payment(
        self,
        *,
        budget_id: str,
        plan_line_id: str,
        payee_id: str,
        amount_pence: int,
        service_period_start: date | str,
        service_period_end: date | str,
        broker_reference: str = "",
        request_id: str | None = None,
    ) -> payment_pb2.Payment:
        """Hold `amount_pence` for an expected invoice (same rules and reasons as
        release_payment); pay it with confirm_payment or free it with cancel_payment."""
        request = payment_pb2.ReservePaymentRequest(
            request_id=request_id or new_request_id(),
            budget_id=budget_id,
            plan_line_id=plan_line_id,
            payee_id=payee_id,
            amount_pence=amount_pence,
            service_period_start=_iso(service_period_start),
            service_period_end=_iso(service_period_end),
            broker_reference=broker_reference,
        )
        reply: payment_pb2.Payment = self._call(self._stub.ReservePayment, request)
        return reply

    def confirm_payment(
        self, *, payment_id: str, amount_pence: int, request_id: str | None = None
    ) -> payment_pb2.Payment:
        """Pay the invoice's `amount_pence` (1 to the reserved amount) of a reservation; the
        rest of the hold returns to the budget. Raises OneBudgetError (PAYMENT_NOT_FOUND,
        PAYMENT_NOT_RESERVED, RESERVATION_EXPIRED, CONFIRM_EXCEEDS_RESERVED, PAYMENTS_STOPPED)."""
        request = payment_pb2.ConfirmPaymentRequest(
            request_id=request_id or new_request_id(),
            payment_id=payment_id,
            amount_pence=amount_pence,
        )
        reply: payment_pb2.Payment = self._call(self._stub.ConfirmPayment, request)
        return reply

    def cancel_payment(
        self, *, payment_id: str, reason: str, request_id: str | None = None
    ) -> payment_pb2.Payment:
        """Cancel a reservation; its hold returns to the budget. Raises OneBudgetError
        (PAYMENT_NOT_FOUND, PAYMENT_NOT_RESERVED: already confirmed, cancelled or expired)."""
        request = payment_pb2.CancelPaymentRequest(
            request_id=request_id or new_request_id(), payment_id=payment_id, reason=reason
        )
        reply: payment_pb2.Payment = self._call(self._stub.CancelPayment, request)
        return reply

    def get_payment(self, payment_id: str) -> payment_pb2.Payment:
        """One payment. Raises OneBudgetError NOT_FOUND PAYMENT_NOT_FOUND."""
        request = payment_pb2.GetPaymentRequest(payment_id=payment_id)
        reply: payment_pb2.Payment = self._call(self._stub.GetPayment, request)
        return reply

    def _call(self, method: Callable[..., Reply], request: Any) -> Reply:
        """Send `request` (the same message, so the same request_id, on every attempt)."""
        backoffs = self._retry.backoffs()
        while True:
            try:
                return method(request, timeout=self._timeout_s, metadata=self._metadata)
            except grpc.RpcError as raised:
                error = OneBudgetError.from_rpc_error(raised)
                backoff = next(backoffs, None) if is_retryable(error) else None
                if backoff is None:
                    raise error from raised
                self._sleep(self._retry.wait_s(backoff, error))
