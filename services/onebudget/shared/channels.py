"""The one way any OneBudget client opens a gRPC channel to a service.

Every caller (the CLI, the demo loader, the dashboard, the chaos and bench runners, the tests)
opens its channels here, so how a channel is secured (TLS, issue 14) and who it speaks for (the
caller's bearer token, issue 14) is decided in one place. `options` are grpc channel arguments
(for example `shared.client.RETRYING_CHANNEL_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from onebudget.shared.tls import channel_credentials, client_ca_file

ChannelOptions = Sequence[tuple[str, Any]]

# --- Who the channel speaks for: the bearer token (issue 14, shared/auth.py) -----------------
# A token source gives the token for one call, by its method (`/package.Service/Method`) and
# request: a fixed token (the CLI's, from `onebudget login`) or one minted per role (the demo,
# the tests). "" sends no token. `token=None` when opening a channel uses the process's default.
TokenSource = Callable[[str, Any], str]
_default_token: list[TokenSource] = []


def use_token(source: TokenSource | str | None) -> None:
    """Set the token every channel opened without `token=` sends (None: no token)."""
    _default_token.clear()
    if source is not None:
        _default_token.append(_as_source(source))


def default_token() -> TokenSource | None:
    """The process's default token source (`use_token`), or None."""
    return _default_token[0] if _default_token else None


def _as_source(token: TokenSource | str) -> TokenSource:
    if isinstance(token, str):
        fixed = token
        return lambda _method, _request: fixed
    return token


def _token_source(token: TokenSource | str | None) -> TokenSource | None:
    if token is not None:
        return _as_source(token)
    return _default_token[0] if _default_token else None


def _with_token(
    metadata: Any, method: str, request: Any, source: TokenSource
) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in (metadata or ()) if k != "authorization"]
    token = source(method, request)
    if token:
        out.append(("authorization", f"Bearer {token}"))
    return out


def _method_name(method: Any) -> str:
    return method.decode() if isinstance(method, bytes) else str(method)


class _BearerInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def _details(self, details: Any, request: Any) -> Any:
        method = _method_name(details.method)
        return details._replace(
            metadata=_with_token(details.metadata, method, request, self._source)
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details, request), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details, request), request)


class _AioBearerInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.aio.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def _details(self, details: Any, request: Any) -> Any:
        method = _method_name(details.method)
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*_with_token(details.metadata, method, request, self._source)),
            details.credentials,
            details.wait_for_ready,
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details, request), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details, request), request)


# --- Opening a channel --------------------------------------------------------------------------


def open_channel(
    address: str, *, options: ChannelOptions = (), token: TokenSource | str | None = None
) -> grpc.Channel:
    """A blocking channel to `address` (host:port): TLS, verified against the CA (see
    `_transport`), whose calls carry `token` (or the process's default, `use_token`) as
    `authorization: Bearer ...`."""
    ca_file = _transport()
    channel = (
        grpc.secure_channel(address, channel_credentials(ca_file), options=list(options))
        if ca_file
        else grpc.insecure_channel(address, options=list(options))
    )
    source = _token_source(token)
    return (
        channel if source is None else grpc.intercept_channel(channel, _BearerInterceptor(source))
    )


def open_aio_channel(
    address: str, *, options: ChannelOptions = (), token: TokenSource | str | None = None
) -> grpc.aio.Channel:
    """An asyncio channel to `address` (host:port): TLS and the token as for `open_channel`."""
    source = _token_source(token)
    interceptors = [] if source is None else [_AioBearerInterceptor(source)]
    ca_file = _transport()
    if ca_file:
        return grpc.aio.secure_channel(
            address, channel_credentials(ca_file), options=list(options), interceptors=interceptors
        )
    return grpc.aio.insecure_channel(address, options=list(options), interceptors=interceptors)


# -- transport (issue 14, ADR 16) ------------------------------------------------------------------


def _transport() -> str:
    """The CA file the channel verifies the service against (shared/tls.py: ONEBUDGET_TLS_CA_FILE,
    else the running stack's CA); "" only where none is known, and a TLS service then refuses
    the plaintext connection."""
    return client_ca_file()
