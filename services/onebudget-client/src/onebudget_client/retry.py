"""When a OneBudget call is retried, and how long to wait: one policy for every call.

Every OneBudget mutation carries a client-chosen `request_id` and is idempotent by it (AIP-155):
the service stores the first answer under the id and returns it to a retry, so money never moves
twice. A retry is therefore safe exactly when it sends the SAME request, same request_id, again.
Retried: UNAVAILABLE (a backend or the service is down for now) and ABORTED (a concurrent change
got in the way; nothing was done), and FAILED_PRECONDITION with reason REQUEST_IN_FLIGHT (the
first attempt is still being decided). Everything else is an answer, not a hiccup: raised.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import grpc

from onebudget_client.errors import OneBudgetError

RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})
RETRIED_REASONS = frozenset({"REQUEST_IN_FLIGHT"})


def is_retryable(error: OneBudgetError) -> bool:
    """True when sending the same request again (same request_id) may succeed."""
    return error.code in RETRIED_CODES or error.reason in RETRIED_REASONS


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: `attempts` calls in all (1 = no retry), waiting
    `initial_backoff_s` x `multiplier`^n seconds (at most `max_backoff_s`, at least what the
    server's RetryInfo asks) times a random factor in [0.5, 1]."""

    attempts: int = 5
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ValueError("backoffs must not be negative and the multiplier at least 1")

    def backoffs(self) -> Iterator[float]:
        """The nominal wait before each retry (attempts - 1 of them), before jitter."""
        wait = self.initial_backoff_s
        for _ in range(self.attempts - 1):
            yield min(wait, self.max_backoff_s)
            wait *= self.multiplier

    @staticmethod
    def wait_s(backoff_s: float, error: OneBudgetError) -> float:
        """The wait before one retry: the jittered backoff, never less than RetryInfo asks."""
        jittered = backoff_s * (0.5 + random.random() / 2)
        return max(jittered, error.retry_after_s or 0.0)
