"""The one way any OneBudget client opens a gRPC channel to a service.

Every caller (the CLI, the demo loader, the dashboard, the chaos and bench runners, the tests)
opens its channels here, so how a channel is secured (TLS, issue 14) and who it speaks for (the
caller's bearer token, issue 14) is decided in one place. `options` are grpc channel arguments
(for example `shared.client.RETRYING_CHANNEL_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from onebudget.shared.tls import channel_credentials, client_ca_file

ChannelOptions = Sequence[tuple[str, Any]]


def open_channel(address: str, *, options: ChannelOptions = ()) -> grpc.Channel:
    """A blocking channel to `address` (host:port): TLS, verified against the CA (see
    `_transport`)."""
    ca_file = _transport()
    if ca_file:
        return grpc.secure_channel(address, channel_credentials(ca_file), options=list(options))
    return grpc.insecure_channel(address, options=list(options))


def open_aio_channel(address: str, *, options: ChannelOptions = ()) -> grpc.aio.Channel:
    """An asyncio channel to `address` (host:port): TLS, verified against the CA (see
    `_transport`)."""
    ca_file = _transport()
    if ca_file:
        return grpc.aio.secure_channel(address, channel_credentials(ca_file), options=list(options))
    return grpc.aio.insecure_channel(address, options=list(options))


# -- transport (issue 14, ADR 16) ------------------------------------------------------------------


def _transport() -> str:
    """The CA file the channel verifies the service against (shared/tls.py: ONEBUDGET_TLS_CA_FILE,
    else the running stack's CA); "" only where none is known, and a TLS service then refuses
    the plaintext connection."""
    return client_ca_file()
