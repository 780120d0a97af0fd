"""`scripts/bench transport`: what ADR 16's transport costs per call (issue 14).

- a unary gRPC call (the standard health check) on one long-lived channel, plaintext against TLS
  (the same in-process server listening both ways), and a new channel's first call (the TLS
  handshake) each way;
- a PostgreSQL connection with its SCRAM-SHA-256 exchange (as a pool opens one);
- sealing a date of birth into an event (AES-256-GCM, shared/sealing.py);
- a JetStream publish and its ack (what the outbox relay waits for per event), plain TCP against
  TLS (ADR 24): two embedded NATS servers, one with the project CA's certificate, each publish
  on one long-lived connection.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import grpc
import nats
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from nats.js.api import StorageType, StreamConfig

from onebudget.shared import bus, sealing
from onebudget.shared.roles import runtime_database_url
from onebudget.shared.runtime.certs import local_ca
from onebudget.shared.runtime.nats import LocalNats
from onebudget.shared.tls import channel_credentials, server_credentials

CALLS = 2000
CHANNELS = 100
CONNECTIONS = 50
SEALS = 20_000
PUBLISHES = 2000
EVENT_BYTES = 512  # about an envelope with a budget event in it


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1000:.3f} | {p99 * 1000:.3f}"


async def _calls(channel: grpc.aio.Channel, count: int) -> list[float]:
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()
    await stub.Check(request)  # connected (and, over TLS, handshaken) before timing
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await stub.Check(request)
        samples.append(time.perf_counter() - started)
    return samples


async def _first_calls(open_channel: Callable[[], grpc.aio.Channel], count: int) -> list[float]:
    samples = []
    request = health_pb2.HealthCheckRequest()
    for _ in range(count):
        started = time.perf_counter()
        async with open_channel() as channel:
            await health_pb2_grpc.HealthStub(channel).Check(request)
        samples.append(time.perf_counter() - started)
    return samples


async def _grpc_rows() -> list[str]:
    certificate = local_ca().server_certificate("bench")
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    plain = server.add_insecure_port("127.0.0.1:0")
    secure = server.add_secure_port(
        "127.0.0.1:0",
        server_credentials(str(certificate.cert_file), str(certificate.key_file)),
    )
    await server.start()
    credentials = channel_credentials(str(certificate.ca_file))

    def open_plain() -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(f"127.0.0.1:{plain}")

    def open_tls() -> grpc.aio.Channel:
        return grpc.aio.secure_channel(f"127.0.0.1:{secure}", credentials)

    try:
        async with open_plain() as channel:
            plain_calls = await _calls(channel, CALLS)
        async with open_tls() as channel:
            tls_calls = await _calls(channel, CALLS)
        plain_first = await _first_calls(open_plain, CHANNELS)
        tls_first = await _first_calls(open_tls, CHANNELS)
    finally:
        await server.stop(1)
    return [
        f"| unary call on an open channel, plaintext ({CALLS}) | {_ms(plain_calls)} |",
        f"| unary call on an open channel, TLS ({CALLS}) | {_ms(tls_calls)} |",
        f"| new channel + first call, plaintext ({CHANNELS}) | {_ms(plain_first)} |",
        f"| new channel + first call, TLS handshake ({CHANNELS}) | {_ms(tls_first)} |",
    ]


async def _scram_row(database_url: str) -> str:
    url = runtime_database_url(database_url, "payment")
    samples = []
    for _ in range(CONNECTIONS):
        started = time.perf_counter()
        conn = await asyncpg.connect(url)
        samples.append(time.perf_counter() - started)
        await conn.close()
    return f"| PostgreSQL connection with SCRAM-SHA-256 ({CONNECTIONS}) | {_ms(samples)} |"


def _seal_row() -> str:
    key = AESGCM(base64.b64decode(sealing.new_key_text()))
    person = str(uuid.uuid4())
    samples = []
    for _ in range(SEALS):
        started = time.perf_counter()
        sealing.seal(key, "1960-05-17", person)
        samples.append(time.perf_counter() - started)
    return f"| seal a date of birth, AES-256-GCM ({SEALS}) | {_ms(samples)} |"


async def _publish_acks(url: str, context: ssl.SSLContext | None, count: int) -> list[float]:
    """`count` JetStream publishes, each awaited to its ack, on one connection (TLS when the
    server requires it, verified with `context`), after one untimed publish."""
    nc = await nats.connect(url, allow_reconnect=False, **({"tls": context} if context else {}))
    try:
        js = nc.jetstream()
        stream = StreamConfig(name="BENCH", subjects=["bench.>"], storage=StorageType.FILE)
        await bus.ensure_stream(js, stream)
        payload = b"x" * EVENT_BYTES
        await js.publish("bench.event", payload)  # connected (and handshaken) before timing
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            await js.publish("bench.event", payload)
            samples.append(time.perf_counter() - started)
    finally:
        await nc.close()
    return samples


async def nats_rows(publishes: int = PUBLISHES) -> list[str]:
    """Rows of a JetStream publish + ack, plain TCP and TLS (ADR 24), `publishes` of each, on
    two throw-away servers."""
    certificate = local_ca().server_certificate("bench-nats")
    with tempfile.TemporaryDirectory(prefix="onebudget-bench-nats-") as folder:
        plain = LocalNats(Path(folder) / "plain")
        secure = LocalNats(Path(folder) / "tls", tls=certificate)
        try:
            await asyncio.to_thread(plain.start, fresh=True)
            await asyncio.to_thread(secure.start, fresh=True)
            plain_samples = await _publish_acks(plain.url, None, publishes)
            context = bus.tls_context(str(certificate.ca_file))
            tls_samples = await _publish_acks(secure.url, context, publishes)
        finally:
            plain.stop()
            secure.stop()
    return [
        f"| JetStream publish + ack, plain TCP ({publishes}) | {_ms(plain_samples)} |",
        f"| JetStream publish + ack, TLS ({publishes}) | {_ms(tls_samples)} |",
    ]


async def run(database_url: str) -> str:
    """The table of costs, in milliseconds (median and 99th percentile)."""
    rows = [
        *await _grpc_rows(),
        await _scram_row(database_url),
        _seal_row(),
        *await nats_rows(),
    ]
    return "\n".join(
        [
            "What issue 14's transport costs, per operation, on loopback (ms):",
            "",
            "| operation | median | p99 |",
            "|---|---|---|",
            *rows,
        ]
    )
