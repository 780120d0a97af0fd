"""OneBudget's partner client: the PaymentService stubs and a typed client with safe retries.

    from onebudget_client import PaymentClient, OneBudgetError

docs/partners.md (in the OneBudget repository) shows ReleasePayment and how to read a refusal.
"""

from onebudget_client.errors import FieldViolation, OneBudgetError
from onebudget_client.payment import PaymentClient, new_request_id
from onebudget_client.retry import RetryPolicy, is_retryable
from onebudget_client.v1 import payment_service_pb2 as payment_pb2

__all__ = [
    "FieldViolation",
    "OneBudgetError",
    "PaymentClient",
    "RetryPolicy",
    "is_retryable",
    "new_request_id",
    "payment_pb2",
]
