"""The CLI's arguments are checked before any call (issue 16, the tester's smaller findings):
each bad value is one line naming the option the user typed, never a traceback or an API
field's name; an output path of "-" is standard output."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from onebudget.cli import main
from onebudget.shared.client import PENCE, OutputFailed, write_output
from onebudget.shared.errors import Violations
from onebudget.shared.money import PENCE_MAX
from onebudget.shared.validation import check_pence

QUARTERLY = ["report", "quarterly", "--commissioner", "QNQ", "--year", "2026", "--quarter", "1"]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line argparse printed for `argv` (exit 2), after its usage lines."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def test_an_output_file_in_a_missing_directory_is_one_line_naming_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for target in (tmp_path / "missing" / "dir" / "q1.csv", tmp_path / "no" / "q1.csv"):
        line = _usage_error([*QUARTERLY, "--out", str(target)], capsys)
        assert line.startswith("onebudget report quarterly: error: argument --out:")
        assert "no directory" in line
        assert not target.parent.exists()


def test_an_output_path_that_is_a_directory_or_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "is a directory" in _usage_error([*QUARTERLY, "--out", str(tmp_path)], capsys)
    assert "empty path" in _usage_error([*QUARTERLY, "--out", ""], capsys)


def test_dash_writes_to_standard_output(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert write_output("-", b"A,B\r\n1,2\r\n") == "standard output"
    assert capsysbinary.readouterr().out == b"A,B\r\n1,2\r\n"
    assert not Path("-").exists()


def test_a_file_that_cannot_be_written_names_the_option(tmp_path: Path) -> None:
    # The directory went between the argument check and the write: one line, no traceback.
    for target in (tmp_path / "gone" / "x.csv", tmp_path):
        with pytest.raises(OutputFailed) as failed:
            write_output(str(target), b"x")
        assert str(failed.value).startswith(f"argument --out: cannot write {target}:")


A_ID = "0b6d1f0e-7d2a-4c55-9a11-2f1e7b9a0c01"
PAY = ["broker", "pay", "--budget", A_ID, "--plan-line", A_ID, "--payee", A_ID]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["audit", "list", "--limit", "-5"], "--limit"),
        (["audit", "list", "--limit", "0"], "--limit"),
        (["audit", "list", "--limit", "lots"], "--limit"),
        (["people", "list", "--page-size", "0"], "--page-size"),
        (["people", "list", "--page-size", "5000"], "--page-size"),
        (["broker", "payees", "--limit", "-1"], "--limit"),
        (["up", "--people", "0"], "--people"),
        (["up", "--nats-cluster", "2"], "--nats-cluster"),
        (["report", "summary", "--commissioner", "QNQ", "--year", "-1"], "--year"),
        ([*PAY, "--amount-pence", "-100"], "--amount-pence"),
        (["broker", "confirm", "--payment", A_ID, "--amount-pence", "1e3"], "--amount-pence"),
    ],
)
def test_every_numeric_option_is_bounded_by_argparse(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _usage_error(argv, capsys)
    assert f"error: argument {option}:" in line


def test_chaos_options_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    from onebudget.chaos.__main__ import main as chaos

    for argv, option in (
        (["--people", "0"], "--people"),
        (["--in-flight", "-3"], "--in-flight"),
        (["--phase-s", "nan"], "--phase-s"),
        (["--down-s", "-1"], "--down-s"),
    ):
        with pytest.raises(SystemExit) as stopped:
            chaos([*argv, "--no-write"])
        assert stopped.value.code == 2
        assert f"error: argument {option}:" in capsys.readouterr().err.strip().splitlines()[-1]


def test_an_audit_time_range_backwards_names_the_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Refused before any call, in the options typed; ListAuditRecords would say `end_time`.
    for since, until in (("2026-11-02", "2026-11-01"), ("2026-11-01", "2026-11-01T00:00:00")):
        line = _usage_error(["audit", "list", "--since", since, "--until", until], capsys)
        assert line.startswith("onebudget audit list: error: argument --until:")
        assert "--since" in line
        assert "start_time" not in line
        assert "end_time" not in line


def test_the_cli_takes_the_amounts_the_services_take() -> None:
    """One rule for an amount (shared/validation.check_pence): the CLI's lower bound was 0p
    where every API's amount field starts at 1p, so `--amount-pence 0` reached the service."""
    for value in (-1, 0, 1, 2, 10_001, PENCE_MAX, PENCE_MAX + 1):
        violations = Violations()
        check_pence(value, "amount_pence", violations)
        try:
            taken = PENCE(str(value)) == value
        except argparse.ArgumentTypeError:
            taken = False
        assert taken == (not violations), value


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        ([*PAY, "--amount-pence", "0"], "--amount-pence"),
        (["broker", "reserve", *PAY[2:], "--amount-pence", "0"], "--amount-pence"),
        (["broker", "confirm", "--payment", A_ID, "--amount-pence", "0"], "--amount-pence"),
        (
            [
                "finance",
                "allocate",
                "--commissioner",
                "QNQ",
                "--year",
                "2026",
                "--target-bp",
                "500",
                "--allocation-pence",
                "0",
            ],
            "--allocation-pence",
        ),
    ],
)
def test_zero_pence_is_refused_by_the_command(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _usage_error(argv, capsys)
    assert f"error: argument {option}: 0 is not whole pence from 1 to" in line


@pytest.mark.parametrize(
    ("argv", "option", "says"),
    [
        (["report", "summary", "--commissioner", "qnq", "--year", "2026"], "--commissioner",
         "is not an ODS or GSS code"),
        (["finance", "budgets", "--council", "E1"], "--council", "is not an ODS or GSS code"),
        (["audit", "list", "--org", "qnq"], "--org", "is not an ODS or GSS code"),
        (["broker", "payees", "--organisation", "nope"], "--organisation",
         "is not an ODS or GSS code"),
        (["finance", "budgets", "--person", "notauuid"], "--person", "is not an id"),
        (["broker", "budget", "--budget", "12345678"], "--budget", "is not an id"),
        (["broker", "cancel", "--payment", "x"], "--payment", "is not an id"),
        ([*PAY[:6], "--payee", "p", "--amount-pence", "100"], "--payee", "is not an id"),
        (["broker", "cancel", "--payment", A_ID, "--request-id", "notauuid"], "--request-id",
         "is not a request id"),
    ],
)  # fmt: skip
def test_codes_and_ids_are_checked_before_any_call(
    argv: list[str], option: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The tester's finding: `--commissioner qnq`, `--person notauuid`, `--request-id notauuid`
    # and `audit list --org qnq` were sent to the services and came back refused, exit 1,
    # though the README says every option is checked before any call (exit 2).
    line = _usage_error(argv, capsys)
    assert f"error: argument {option}:" in line, line
    assert says in line, line
