"""The partners' client package alone (issue 16): its wheel, built from services/onebudget-client/,
is imported in a bare interpreter with only grpcio, protobuf and googleapis-common-protos beside
it (not the services' package), and pays, retries and reads a refusal against a real payment
host on a real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared.tls import CA_FILE_VARIABLE
from tests.conftest import TEST_TOKENS, StartService
from tests.integration.test_payment_support import funded_budget, payee, stub

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "services" / "onebudget-client"
SCRIPT = Path(__file__).with_name("partner_script.py")


@pytest.fixture(scope="module")
def client_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client's wheel, built from a copy of its source (no build litter in the tree),
    offline (the dev venv's setuptools, no index)."""
    work = tmp_path_factory.mktemp("partner-client")
    source = work / "source"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", str(work / "dist"), str(source)],
        check=True,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("onebudget_client-*.whl")
    return wheel


def _requires(metadata: str) -> list[str]:
    """The names a distribution's METADATA requires, extras' requirements left out."""
    return [
        re.split(r"[<>=!~ ;\[(]", line.split(":", 1)[1].strip())[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]


def _wheel_requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return _requires(archive.read(name).decode())


@pytest.fixture(scope="module")
def third_party(tmp_path_factory: pytest.TempPathFactory, client_wheel: Path) -> Path:
    """A folder holding only the client's declared dependencies and theirs (grpcio,
    typing-extensions, protobuf, googleapis-common-protos), linked from this environment's
    installed distributions: not the services' package, not the dev tools."""
    site = tmp_path_factory.mktemp("partner-site")
    todo, done = _wheel_requires(client_wheel), set()
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        if dist.metadata["Name"].lower() in done:
            continue
        done.add(dist.metadata["Name"].lower())
        todo += _requires(dist.read_text("METADATA") or "")
        for top in {f.parts[0] for f in dist.files or () if not str(f).startswith("..")}:
            if not (site / top).exists():
                (site / top).symlink_to(Path(str(dist.locate_file(top))))
    assert {"grpcio", "protobuf", "googleapis-common-protos"} <= done
    assert not (site / "onebudget").exists()
    return site


def test_the_wheel_holds_the_client_and_its_stubs_only(client_wheel: Path) -> None:
    names = zipfile.ZipFile(client_wheel).namelist()
    assert "onebudget_client/payment.py" in names
    assert "onebudget_client/v1/payment_service_pb2_grpc.py" in names
    assert "onebudget_client/py.typed" in names
    assert not [n for n in names if n.startswith("onebudget/")], "the services' package leaked"
    metadata = zipfile.ZipFile(client_wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    )
    assert sorted(_requires(metadata.decode())) == [
        "googleapis-common-protos",
        "grpcio",
        "protobuf",
    ]


async def test_a_partner_pays_retries_and_reads_a_refusal_with_the_client_alone(
    start_service: StartService, client_wheel: Path, third_party: Path
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        budget = await funded_budget(conn, (100_000, 100_000, 0))
        provider = await payee(s)
    ids = {"budget_id": str(budget.budget_id), "plan_line_id": str(budget.line_id)}
    ids["payee_id"] = provider
    # As a partner calls: over TLS, verified with the deployment's CA, with a bearer token.
    ids["ca_file"] = os.environ[CA_FILE_VARIABLE]
    ids["access_token"] = TEST_TOKENS("/onebudget.payment.v1.PaymentService/ReleasePayment")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", str(SCRIPT),
        str(client_wheel), str(third_party), host.address, json.dumps(ids),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    seen = json.loads(out)

    assert seen["onebudget_importable"] is False, "the services' package was importable"
    assert str(seen["client_from"]).startswith(str(client_wheel))
    paid = seen["paid"]
    assert paid["state"] == 1  # PAYMENT_STATE_RELEASED
    assert (paid["nhs_pence"], paid["council_pence"]) == (200, 133)
    assert paid["retry_same_payment"] is True
    assert seen["refused"] == {
        "code": "FAILED_PRECONDITION",
        "reason": "INSUFFICIENT_FUNDS",
        "domain": "payment.onebudget",
        "metadata": seen["refused"]["metadata"],
    }
    assert int(seen["refused"]["metadata"]["nhs_shortfall_pence"]) > 0
    assert seen["invalid"] == {"code": "INVALID_ARGUMENT", "fields": ["amount_pence"]}
