"""`onebudget up` migrates every service before it starts any (ADR 24): a migration that fails
stops the start with one line naming the failed services' logs, and no service is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from onebudget.shared.runtime.infra import LocalInfra
from onebudget.shared.runtime.issuer import LocalIssuer
from onebudget.shared.runtime.ports import free_port
from onebudget.shared.stack import SERVICES, Stack


def test_a_failed_migration_stops_the_start_and_names_its_logs(tmp_path: Path) -> None:
    nobody_listens = free_port()  # a database that cannot be reached: every migration fails
    infra = LocalInfra(
        "migrate-test",
        database_url=f"postgresql://postgres@127.0.0.1:{nobody_listens}/onebudget",
        nats_url=f"tls://127.0.0.1:{free_port()}",
    )
    issuer = LocalIssuer(tmp_path / "issuer")
    stack = Stack(name="migrate-test", infra=infra, issuer=issuer, jwks=issuer.serve())
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        with pytest.raises(RuntimeError) as failed:
            stack.migrate(logs)
    finally:
        assert stack.jwks is not None
        stack.jwks.close()
    message = str(failed.value)
    assert message.startswith(f"migrations failed for {', '.join(SERVICES)}; see ")
    for service in SERVICES:
        log = logs / f"{service}-migrate.log"
        assert str(log) in message
        assert log.read_text()  # what went wrong, for the operator
    assert stack._children == {}  # no service was started
