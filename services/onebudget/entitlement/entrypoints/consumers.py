"""The events entitlement consumes: they start review schedules (reviews due)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from onebudget.entitlement.service_layer.reviews import (
    on_budget_agreed,
    on_budget_ended,
    on_direct_payment_started,
    on_payment_released,
)
from onebudget.shared.consumer import EventConsumer
from onebudget.shared.server import Runtime

SCHEMA = "entitlement"
BUDGET_AGREED_SUBJECT = "onebudget.allocation.budget.agreed.v1"
BUDGET_ENDED_SUBJECT = "onebudget.allocation.budget.ended.v1"
PAYMENT_RELEASED_SUBJECT = "onebudget.payment.payment.released.v1"
DIRECT_PAYMENT_STARTED_SUBJECT = "onebudget.payment.schedule.direct_payment_started.v1"
# Durable names are part of the deployment: renaming one replays its stream from the start.
BUDGET_AGREED_DURABLE = "entitlement-reviews-budget-agreed"
DIRECT_PAYMENT_STARTED_DURABLE = "entitlement-reviews-direct-payment-started"
BUDGET_ENDED_DURABLE = "entitlement-reviews-budget-ended"
PAYMENT_RELEASED_DURABLE = "entitlement-reviews-payment-released"


def review_consumers(runtime: Runtime) -> Sequence[Callable[[], Awaitable[None]]]:
    budgets = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="ALLOCATION",
        durable=BUDGET_AGREED_DURABLE,
        handler=on_budget_agreed,
        filter_subjects=[BUDGET_AGREED_SUBJECT],
    )
    payments = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="PAYMENT",
        durable=DIRECT_PAYMENT_STARTED_DURABLE,
        handler=on_direct_payment_started,
        filter_subjects=[DIRECT_PAYMENT_STARTED_SUBJECT],
    )
    ended = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="ALLOCATION",
        durable=BUDGET_ENDED_DURABLE,
        handler=on_budget_ended,
        filter_subjects=[BUDGET_ENDED_SUBJECT],
    )
    # One-off releases to a direct-payment account start the direct-payment review too.
    released = EventConsumer(
        runtime.pool,
        runtime.js,
        schema=SCHEMA,
        stream="PAYMENT",
        durable=PAYMENT_RELEASED_DURABLE,
        handler=on_payment_released,
        filter_subjects=[PAYMENT_RELEASED_SUBJECT],
    )
    return (budgets.run, payments.run, ended.run, released.run)
