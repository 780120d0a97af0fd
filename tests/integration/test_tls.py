"""gRPC over TLS (issue 14, ADR 16): a service serves only TLS with its certificate, clients
verify it against the CA, and a plaintext client, or one that trusts another CA, gets nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.runtime.certs import IssuedCertificate, LocalCA
from onebudget.shared.tls import channel_credentials
from tests.conftest import StartService

CHECK = health_pb2.HealthCheckRequest()


async def _check(channel: grpc.aio.Channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(CHECK, timeout=5)
    return int(reply.status)


async def test_a_client_that_trusts_the_ca_is_served(start_service: StartService) -> None:
    host = await start_service(ENTITLEMENT)
    async with open_aio_channel(host.address) as channel:
        assert await _check(channel) == health_pb2.HealthCheckResponse.SERVING


async def test_a_plaintext_connection_is_refused(start_service: StartService) -> None:
    host = await start_service(ENTITLEMENT)
    async with grpc.aio.insecure_channel(host.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_that_trusts_another_ca_is_refused(
    start_service: StartService, tmp_path: Path
) -> None:
    host = await start_service(ENTITLEMENT)
    other = LocalCA(tmp_path / "other-ca").ensure()
    credentials = channel_credentials(str(other.ca_file))
    async with grpc.aio.secure_channel(host.address, credentials) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_server_with_a_certificate_of_another_ca_is_not_trusted(
    start_service: StartService, tmp_path: Path
) -> None:
    # The other way round: an impostor on the port, with a certificate the CA never signed.
    impostor = LocalCA(tmp_path / "impostor-ca").ensure().server_certificate("entitlement")
    host = await start_service(
        ENTITLEMENT,
        tls_cert_file=str(impostor.cert_file),
        tls_key_file=str(impostor.key_file),
    )
    async with open_aio_channel(host.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_local_ca_makes_loopback_certificates_with_private_keys(
    tls_certificate: IssuedCertificate,
) -> None:
    cert = x509.load_pem_x509_certificate(tls_certificate.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    ca = x509.load_pem_x509_certificate(tls_certificate.ca_file.read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert stat.S_IMODE(tls_certificate.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tls_certificate.ca_file.parent / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(tls_certificate.ca_file.parent.stat().st_mode) == 0o700
