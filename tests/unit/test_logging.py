"""Logs are JSON, one object a line, and never carry a full NHS number or a name."""

from __future__ import annotations

import json

import pytest
import structlog

from onebudget.shared.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _reset_structlog() -> object:
    yield None
    structlog.reset_defaults()


def test_nhs_numbers_and_names_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    get_logger("t").info(
        "registered",
        nhs_number="9434765919",
        name="Ada Lovelace",
        note="looked up 943 476 5919 and 6541003238",
        amount_pence=12345,
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["nhs_number"] == "******5919"
    assert record["name"] == "***"
    assert record["note"] == "looked up ******5919 and ******3238"
    assert record["amount_pence"] == 12345
    assert "9434765919" not in line
    assert "Lovelace" not in line


def test_level_filtering(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    log = get_logger("t")
    log.info("quiet")
    log.warning("loud")
    out = capsys.readouterr().out
    assert "quiet" not in out
    assert json.loads(out.strip())["event"] == "loud"
