"""NATS with a user per service (issue 14, ADR 16): each may publish only its own subjects.

The attack of the issue: an event published with no credentials to
`onebudget.allocation.budget.agreed.v1`, naming another person's budget accounts, was taken by
payment as allocation's word. Now a connection without a user is refused, and another service's
user (payment, here) cannot publish on allocation's subjects, read other users' replies, or purge
a stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from onebudget.shared import bus
from onebudget.shared.runtime.infra import LocalInfra, nats_password_file

FORGED_SUBJECT = "onebudget.allocation.budget.agreed.v1"


@pytest.fixture
def embedded(infra: LocalInfra) -> LocalInfra:
    if infra.nats is None:
        pytest.skip("ONEBUDGET_NATS_URL points at a server these tests did not start")
    return infra


async def _as(url: str, service: str, errors: list[str]) -> NatsClient:
    async def seen(error: Exception) -> None:
        errors.append(str(error))

    user = bus.nats_user(service)
    return await nats.connect(
        url,
        allow_reconnect=False,
        error_cb=seen,
        **bus.auth_options(user, str(nats_password_file(user))),
    )


@pytest.fixture
async def operator(embedded: LocalInfra) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(embedded.nats_url, **bus.auth_options())
    await bus.ensure_streams(nc.jetstream())
    yield nc
    await nc.close()


async def _last_seq(operator: NatsClient, stream: str) -> int:
    return int((await operator.jetstream().stream_info(stream)).state.last_seq)


async def test_a_connection_without_a_user_is_refused(embedded: LocalInfra) -> None:
    async def quiet(_error: Exception) -> None:
        return None

    with pytest.raises((nats.errors.Error, OSError)) as refused:
        await nats.connect(
            embedded.nats_url,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            connect_timeout=3,
            error_cb=quiet,
            tls=bus.tls_context(),  # over TLS, trusting the CA: refused for having no user
        )
    assert "authorization" in str(refused.value).lower() or isinstance(
        refused.value, nats.errors.NoServersError
    )


async def test_a_wrong_password_is_refused(embedded: LocalInfra) -> None:
    async def quiet(_error: Exception) -> None:
        return None

    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            embedded.nats_url,
            user=bus.nats_user("allocation"),
            password="not-the-password",
            allow_reconnect=False,
            max_reconnect_attempts=1,
            connect_timeout=3,
            error_cb=quiet,
            tls=bus.tls_context(),
        )


async def test_another_service_cannot_publish_allocations_events(
    embedded: LocalInfra, operator: NatsClient
) -> None:
    before = await _last_seq(operator, "ALLOCATION")
    errors: list[str] = []
    payment = await _as(embedded.nats_url, "payment", errors)
    try:
        with pytest.raises((nats.errors.Error, asyncio.TimeoutError)):
            await payment.jetstream().publish(FORGED_SUBJECT, b"forged", timeout=1)
        await payment.flush()
    finally:
        await payment.close()
    assert any("permissions violation" in e.lower() for e in errors), errors
    assert await _last_seq(operator, "ALLOCATION") == before  # nothing stored

    # The owner may (the same publish, allocation's user): stored.
    allocation = await _as(embedded.nats_url, "allocation", [])
    try:
        ack = await allocation.jetstream().publish(FORGED_SUBJECT, b"allocation's own", timeout=5)
    finally:
        await allocation.close()
    assert ack.stream == "ALLOCATION"
    assert await _last_seq(operator, "ALLOCATION") == before + 1


async def test_a_service_reads_no_subject_but_its_own_inbox_and_cannot_purge(
    embedded: LocalInfra, operator: NatsClient
) -> None:
    allocation = await _as(embedded.nats_url, "allocation", [])
    try:
        await allocation.jetstream().publish(FORGED_SUBJECT, b"kept", timeout=5)
    finally:
        await allocation.close()
    kept = (await operator.jetstream().stream_info("ALLOCATION")).state.messages
    errors: list[str] = []
    payment = await _as(embedded.nats_url, "payment", errors)
    try:
        await payment.subscribe("onebudget.allocation.>")
        await payment.subscribe("_INBOX_onebudget_allocation.>")  # another user's replies
        await payment.flush()
        await asyncio.sleep(0.2)
        with pytest.raises((nats.errors.Error, asyncio.TimeoutError)):
            await payment.jetstream().purge_stream("ALLOCATION")
    finally:
        await payment.close()
    subscribe_refusals = [
        e for e in errors if "permissions violation for subscription" in e.lower()
    ]
    assert len(subscribe_refusals) == 2, errors
    assert (await operator.jetstream().stream_info("ALLOCATION")).state.messages == kept > 0
