"""`onebudget broker ...` against a running payment service (a separate process, as a broker
would run it)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from onebudget.payment.entrypoints.app import SPEC
from onebudget.shared.identity import Actor, Role
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
