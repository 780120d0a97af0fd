"""`python -m onebudget.shared.probe SERVICE`: exit 0 when the service in this container answers
SERVING on the standard health check over TLS, else 1.

Kubernetes' own gRPC probe speaks no TLS, and a service serves only TLS (ADR 16), so the
deployment probes with this (deploy/k8s/onebudget.yaml): it verifies the service's certificate
with ONEBUDGET_TLS_CA_FILE, naming the service as the certificate's host.
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onebudget.shared.channels import open_channel
from onebudget.shared.runtime.stack_state import DEFAULT_ADDRESSES

PROBE_TIMEOUT_S = 3.0


def probe(service: str) -> bool:
    """Whether `service`, on this host's loopback at its configured port, is SERVING."""
    default_port = DEFAULT_ADDRESSES[service].rsplit(":", 1)[1]
    port = os.environ.get(f"ONEBUDGET_{service.upper()}_PORT", "").strip() or default_port
    options = [("grpc.ssl_target_name_override", service)]
    with open_channel(f"127.0.0.1:{port}", options=options) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=PROBE_TIMEOUT_S
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in DEFAULT_ADDRESSES:
        print(f"usage: python -m onebudget.shared.probe {{{','.join(DEFAULT_ADDRESSES)}}}")
        return 2
    return 0 if probe(argv[1]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
