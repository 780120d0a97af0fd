"""NATS JetStream: connection and the streams every service publishes to.

Who may publish what (ADR 16): each service connects as its own NATS user
(`onebudget_<service>`, ONEBUDGET_NATS_USER, its password in the file ONEBUDGET_NATS_PASSWORD_FILE)
and may publish only its own subjects (`publish_subjects`), so a consumer can trust which service
sent an event; replies reach it on an inbox prefix of its own. `OPERATOR_USER` is for people and
tools (the CLI's anchors, the tests, chaos): every subject, like an administrator's account.

Over TLS (ADR 16, docs/security-transport.md): a server that requires TLS (the embedded one, and
production's `tls {}`) is verified against the CA every client trusts, ONEBUDGET_TLS_CA_FILE, else
the CA of the stack running here (shared/tls.client_ca_file, as for gRPC); `auth_options` carries
that context, so every client that connects with it, through `connect` or nats-py directly,
verifies the server the same way. A client that does not trust the CA is refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from onebudget.shared.logging import get_logger
from onebudget.shared.tls import client_ca_file

_log = get_logger("onebudget.bus")

# NATS sends its INFO in the clear and then upgrades the connection to TLS (asyncio's
# start_tls); asyncio then warns, on every connection's end, that the stream protocol's
# eof_received() "returning true ... has no effect when using ssl". It is true and harmless
# (the connection is closing either way), but it reached users' terminals as a bare line that
# read like a fault. Only that one message of asyncio's logger is dropped.
START_TLS_EOF_NOTICE = "returning true from eof_received() has no effect when using ssl"


class _StartTlsEofNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "asyncio" and record.getMessage() == START_TLS_EOF_NOTICE)


logging.getLogger("asyncio").addFilter(_StartTlsEofNotice())

# One stream per publishing service (design.md). The duplicate window is how long JetStream
# remembers a Nats-Msg-Id: a relay that crashed between publish and moving its mark re-publishes
# within seconds, well inside it; consumers dedupe by event_id as a second line anyway.
STREAMS: dict[str, str] = {
    "ENTITLEMENT": "onebudget.entitlement.>",
    "ALLOCATION": "onebudget.allocation.>",
    "PAYMENT": "onebudget.payment.>",
}
DUPLICATE_WINDOW_S = 600.0


OPERATOR_USER = "onebudget_operator"
USER_VARIABLE = "ONEBUDGET_NATS_USER"
PASSWORD_FILE_VARIABLE = "ONEBUDGET_NATS_PASSWORD_FILE"  # noqa: S105 (a variable's name)
# The subjects of the JetStream API no service needs and nobody should use to unwrite events.
DENIED_API = (
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
)


def nats_user(service: str) -> str:
    """The NATS user `service` connects as: `onebudget_<service>`."""
    return f"onebudget_{service}"


def publish_subjects(service: str) -> list[str]:
    """The subjects `service` may publish (ADR 16): its own events, its audit trail's anchors
    (every service keeps a trail: shared/audit_anchor.py, ADR 17), and for the ledger's writers
    (allocation, payment) the ledger's anchors (ledger/anchor.py)."""
    own = [f"onebudget.{service}.>"]
    if service in ("allocation", "payment"):
        own.append("onebudget.ledger.anchor.v1.*")
    own.append("onebudget.audit.anchor.v1.*")
    return own


def inbox_prefix(user: str) -> str:
    """Where `user`'s replies come (its own, so no other user may subscribe to them)."""
    return f"_INBOX_{user}"


def user_permissions(service: str) -> dict[str, Any]:
    """NATS permissions of `service`'s user: publish its own subjects and the JetStream API
    (streams and consumers, acks) but not deleting or purging; subscribe to its own inbox."""
    return {
        "publish": {
            "allow": [*publish_subjects(service), "$JS.API.>", "$JS.ACK.>", "$JS.FC.>"],
            "deny": list(DENIED_API),
        },
        "subscribe": {"allow": [f"{inbox_prefix(nats_user(service))}.>"]},
    }


def credentials_from_env() -> tuple[str, str]:
    """(user, password file) from ONEBUDGET_NATS_USER / ONEBUDGET_NATS_PASSWORD_FILE ("" each
    when unset: a server without users)."""
    return (
        os.environ.get(USER_VARIABLE, "").strip(),
        os.environ.get(PASSWORD_FILE_VARIABLE, "").strip(),
    )


def tls_context(ca_file: str = "") -> ssl.SSLContext | None:
    """The TLS context a NATS client verifies the server with: it trusts only the CA in
    `ca_file` (default: `client_ca_file()`, ONEBUDGET_TLS_CA_FILE else the running stack's CA)
    and checks the server's name or address against its certificate; None when no CA is known
    (then a server that requires TLS is checked against the system's CAs, and a local one is
    refused). nats-py upgrades to TLS only when the server requires it, so the context is
    harmless against a plain server."""
    ca_file = ca_file or client_ca_file()
    if not ca_file:
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def auth_options(user: str = "", password_file: str = "") -> dict[str, Any]:
    """nats-py connect options for `user` with the password in `password_file` (the
    environment's when not given): never a password in a URL, an argument or a log; and the
    TLS context that verifies the server with the project's CA (`tls_context`)."""
    options: dict[str, Any] = {}
    context = tls_context()
    if context is not None:
        options["tls"] = context
    if not user:
        user, password_file = credentials_from_env()
    if not user:
        return options
    password = Path(password_file).read_text().strip() if password_file else ""
    return {**options, "user": user, "password": password, "inbox_prefix": inbox_prefix(user)}


async def connect(url: str, *, name: str, user: str = "", password_file: str = "") -> NatsClient:
    """Connect to NATS as `user` (default: the environment's, see `auth_options`)."""

    async def on_error(exc: Exception) -> None:
        _log.warning("nats_error", error=str(exc))

    client: list[NatsClient] = []

    async def on_disconnect() -> None:
        # nats-py calls this on our own close() too: that is no fault, and saying "warning"
        # there filled a user's terminal while `up` waited for the stack to settle.
        if client and client[0].is_closed:
            _log.info("nats_closed")
        else:
            _log.warning("nats_disconnected")

    async def on_reconnect() -> None:
        _log.info("nats_reconnected")

    callbacks: dict[str, Callable[..., Awaitable[Any]]] = {
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
    }
    # A cluster is named by all its nodes, comma-separated: the client fails over among them.
    servers = [u.strip() for u in url.split(",") if u.strip()]
    nc = await nats.connect(
        servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        **auth_options(user, password_file),  # the user, and TLS verified with the CA
        **callbacks,
    )
    client.append(nc)
    return nc


STREAM_SETUP_S_MAX = 60.0  # a cluster still electing its leaders answers stream requests late


async def ensure_streams(js: JetStreamContext, replicas: int = 1, max_age_s: float = 0.0) -> None:
    """Create the streams if missing, or bring an existing one to this configuration
    (idempotent; safe when several services start at once). `max_age_s` is how long a message
    is kept (0: for ever; shared/retention.py). A request that times out (a JetStream cluster
    still electing a leader) is asked again, for up to STREAM_SETUP_S_MAX seconds."""
    for name, subject in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=[subject],
            storage=StorageType.FILE,
            # JetStream refuses a duplicate window longer than the messages are kept.
            duplicate_window=min(DUPLICATE_WINDOW_S, max_age_s)
            if max_age_s
            else DUPLICATE_WINDOW_S,
            num_replicas=replicas,
            max_age=max_age_s,
        )
        await ensure_stream(js, config)


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create one stream, or bring an existing one to `config` (idempotent); a request that
    times out (a JetStream cluster still electing a leader) is asked again, for up to
    STREAM_SETUP_S_MAX seconds, then raises nats.errors.TimeoutError."""
    deadline = time.monotonic() + STREAM_SETUP_S_MAX
    while True:
        try:
            try:
                await js.add_stream(config)
            except BadRequestError:
                await js.update_stream(config)
            return
        except nats.errors.TimeoutError:
            if time.monotonic() >= deadline:
                raise
            _log.warning("stream_setup_retry", stream=config.name)
            await asyncio.sleep(0.5)
