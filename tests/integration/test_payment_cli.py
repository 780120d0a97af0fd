"""`onebudget broker ...` against a running payment service (a separate process, as a broker
would run it)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from pathlib import Path

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared.identity import Actor, Role
from onebudget.shared.runtime.ports import free_port
from tests.conftest import TEST_ISSUER, StartService
from tests.integration.test_payment_support import funded_budget, payee, stub


async def _broker(address: str, state_dir: Path, *args: str) -> tuple[int, str, str]:
    """`onebudget broker ...` in its own process, logged in as a broker of the budget's ICB."""
    broker = Actor("broker-1", Role.CARE_BROKER, ("QNQ",))
    (state_dir / "token").write_text(TEST_ISSUER.mint(broker, ["onebudget-payment"]))
    env = {**os.environ, "ONEBUDGET_PAYMENT_ADDRESS": address}
    env["ONEBUDGET_STATE_DIR"] = str(state_dir)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "onebudget",
        "broker",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_broker_pays_and_reads_the_statement(
    start_service: StartService, tmp_path: Path
) -> None:
    host = await start_service(SPEC)
    assert host.runtime is not None
    channel, s = stub(host)
    async with channel, host.runtime.pool.acquire() as conn:
        b = await funded_budget(conn, (10_000, 10_000, 0))
        provider = await payee(s)
    common = ["--budget", str(b.budget_id), "--plan-line", str(b.line_id), "--payee", provider]
    code, out, _ = await _broker(host.address, tmp_path, "pay", *common, "--amount-pence", "1000")
    assert code == 0
    assert f"Paid £10.00 to payee {provider}" in out
    assert "NHS         £6.00" in out  # the split per funder, in pounds
    code, out, _ = await _broker(
        host.address, tmp_path, "pay", *common, "--amount-pence", "1", "--json"
    )
    assert code == 0
    assert '"amountPence": "1"' in out
    code, _, err = await _broker(host.address, tmp_path, "pay", *common, "--amount-pence", "99999")
    assert code == 1
    assert "reason: INSUFFICIENT_FUNDS" in err
    code, out, _ = await _broker(host.address, tmp_path, "statement", "--budget", str(b.budget_id))
    assert code == 0
    assert "NHS     posted £93.99, available £93.99" in out or (
        "NHS     posted £94.00, available £94.00" in out
    )


async def test_a_payment_the_service_never_answered_says_so_with_the_id_to_retry(
    tmp_path: Path,
) -> None:
    """Found by a new user: with the payment service down, `broker pay` said `refused:
    UNAVAILABLE ... UNKNOWN` and printed no request_id, so the broker could not retry safely."""
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens here
    ids = [str(uuid.uuid4()) for _ in range(3)]
    args = ["--budget", ids[0], "--plan-line", ids[1], "--payee", ids[2]]
    code, _, err = await _broker(nobody, tmp_path, "pay", *args, "--amount-pence", "100")
    assert code == 1
    assert err.startswith("not answered (UNAVAILABLE)"), err
    assert "refused" not in err
    retry = re.search(r"--request-id ([0-9a-f-]{36})", err)
    assert retry is not None, err
    assert uuid.UUID(retry.group(1))
