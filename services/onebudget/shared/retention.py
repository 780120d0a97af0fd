"""How long the plumbing keeps what it writes (issue 15, item 12), configured once; pure (the
supervised task that prunes is shared/pruning.py).

Three things grow with every command and are pruned here, each by one window in days:

- **request ids** (`<schema>.idempotency`, `ONEBUDGET_RETENTION_REQUEST_ID_DAYS`, default 400):
  an answered row is deleted once it is older than the window. Within the window a retry gets
  the first answer and moves nothing (AIP-155). After it the request_id is forgotten and the
  same request is *new*: a generic command would run again. Money must never move twice, so
  a payment (ReleasePayment, ReleasePayments, ReservePayment) is still recognised after the
  window by its own payment row, kept for ever, which carries its request_id: the retry is
  refused FAILED_PRECONDITION `REQUEST_ID_EXPIRED` and nothing moves (payment migration
  0060). 400 days is a financial year and a month: a retry at any point of a year's close is
  still answered from the stored row.
- **outbox rows** (`<schema>.outbox`, `ONEBUDGET_RETENTION_OUTBOX_DAYS`, default 30): a row is
  deleted once it is older than the window and *published* (at or below the relay's high-water
  mark, ADR 21); a row above the mark is never deleted (the database refuses, plumbing
  migration 0160). The window is how long an event can be
  re-published from PostgreSQL (say, into a stream restored from an older backup).
- **stream messages** (JetStream `max_age`, `ONEBUDGET_RETENTION_STREAM_DAYS`, default 2,557 =
  7 years; 0 keeps them for ever): the NHS Records Management Code of Practice keeps financial
  records for 6 years after the financial year they belong to. Reporting's RebuildReadModel
  replays the streams from their first event; once a stream has lost its first events, the
  rebuild refuses (FAILED_PRECONDITION `STREAM_PRUNED`) instead of building a read model that
  silently misses them.

Applied-event ids (`applied_events`) are not pruned: a consumer dedupes redeliveries by them, and
a redelivery can come at any time while the stream holds the event.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from onebudget.shared.config import ConfigError, env_int

SECONDS_PER_DAY = 86_400
REQUEST_ID_DAYS_DEFAULT = 400
OUTBOX_DAYS_DEFAULT = 30
STREAM_DAYS_DEFAULT = 2_557
# A client retries for minutes, an operator's re-run for days: a window shorter than this would
# forget a request_id while someone may still send it again.
REQUEST_ID_DAYS_MIN = 35
DAYS_MAX = 36_500


@dataclass(frozen=True)
class RetentionPolicy:
    """The three windows, in days (see the module docstring for what each means)."""

    request_id_days: int = REQUEST_ID_DAYS_DEFAULT
    outbox_days: int = OUTBOX_DAYS_DEFAULT
    stream_days: int = STREAM_DAYS_DEFAULT  # 0: for ever

    def __post_init__(self) -> None:
        assert self.request_id_days >= REQUEST_ID_DAYS_MIN
        assert self.outbox_days >= 1
        assert self.stream_days >= 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        env = os.environ if env is None else env
        policy = cls(
            request_id_days=env_int(
                env,
                "ONEBUDGET_RETENTION_REQUEST_ID_DAYS",
                REQUEST_ID_DAYS_DEFAULT,
                low=REQUEST_ID_DAYS_MIN,
                high=DAYS_MAX,
            ),
            outbox_days=env_int(
                env, "ONEBUDGET_RETENTION_OUTBOX_DAYS", OUTBOX_DAYS_DEFAULT, low=1, high=DAYS_MAX
            ),
            stream_days=env_int(
                env, "ONEBUDGET_RETENTION_STREAM_DAYS", STREAM_DAYS_DEFAULT, low=0, high=DAYS_MAX
            ),
        )
        if policy.stream_days and policy.stream_days < policy.outbox_days:
            # Re-publishing from the outbox is for events the stream should still hold.
            raise ConfigError(
                f"ONEBUDGET_RETENTION_STREAM_DAYS={policy.stream_days} is shorter than"
                f" ONEBUDGET_RETENTION_OUTBOX_DAYS={policy.outbox_days}"
            )
        return policy

    @property
    def stream_max_age_s(self) -> float:
        """JetStream's `max_age` in seconds; 0 keeps messages for ever."""
        return float(self.stream_days * SECONDS_PER_DAY)


def cutoff(now: datetime, days: int) -> datetime:
    """The instant before which a row is older than a window of `days` (aware UTC in, out)."""
    assert now.tzinfo is not None
    assert days >= 1
    return now - timedelta(days=days)


def stream_starts_at_first_event(first_seq: int) -> bool:
    """A JetStream stream still holds its first event when its first sequence is 1 (0 when it
    has never held one). A larger first sequence means messages were removed from its start
    (aged out by `max_age`, purged or deleted): a replay from it would miss them."""
    return first_seq <= 1
