"""gRPC over TLS (ADR 16): the server's and the client's credentials, from PEM files.

A service serves TLS with ONEBUDGET_TLS_CERT_FILE and ONEBUDGET_TLS_KEY_FILE (the local stack
makes them with its own CA, shared/runtime/certs.py; production mounts them from a Secret).
Clients verify the server against ONEBUDGET_TLS_CA_FILE, else the CA of the stack `onebudget up`
runs here (its state file). A server that serves TLS refuses a plaintext connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import grpc

CA_FILE_VARIABLE = "ONEBUDGET_TLS_CA_FILE"


def server_credentials(cert_file: str, key_file: str) -> grpc.ServerCredentials:
    """TLS credentials of a server: its PEM certificate chain and PEM private key."""
    return grpc.ssl_server_credentials(
        [(Path(key_file).read_bytes(), Path(cert_file).read_bytes())]
    )


def client_ca_file(env: Mapping[str, str] | None = None) -> str:
    """The CA (PEM) clients verify services with: ONEBUDGET_TLS_CA_FILE, else the CA of the
    stack running here, else "" (plaintext, which a TLS server refuses)."""
    env = os.environ if env is None else env
    explicit = env.get(CA_FILE_VARIABLE, "").strip()
    if explicit:
        return explicit
    from onebudget.shared.runtime.stack_state import read_state

    state = read_state()
    return state.tls_ca if state is not None else ""


def channel_credentials(ca_file: str) -> grpc.ChannelCredentials:
    """TLS credentials of a client that trusts only the CA in `ca_file`."""
    return grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
