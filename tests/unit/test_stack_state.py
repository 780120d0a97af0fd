"""Where the CLI finds a service (issue 16): the environment first, then the stack `onebudget up`
started here (its state file, trusted only while that `up` runs), then the default port; and the
CLI's own faults are one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from onebudget import cli
from onebudget.shared import channels
from onebudget.shared.config import ConfigError
from onebudget.shared.identity import Actor, Role
from onebudget.shared.runtime import stack_state
from onebudget.shared.runtime.stack_state import (
    StackState,
    read_state,
    service_address,
    service_url,
)
from onebudget.shared.stack import describe_exit
from tests.conftest import TEST_ISSUER


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONEBUDGET_STATE_DIR", str(tmp_path))
    # The CLI as a user runs it: no identity but its login's (the tests' own is set aside).
    monkeypatch.setattr(channels, "_default_token", [])
    return tmp_path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_order_environment_then_running_stack_then_default(state_dir: Path) -> None:
    assert service_address("payment", {}) == "127.0.0.1:50053"
    stack_state.write_state(StackState(pid=os.getpid(), services={"payment": "127.0.0.1:41234"}))
    assert service_address("payment", {}) == "127.0.0.1:41234"
    assert service_address("reporting", {}) == "127.0.0.1:50054"  # not in the file: default
    assert service_address("payment", {"ONEBUDGET_PAYMENT_PORT": "40001"}) == "127.0.0.1:40001"
    both = {"ONEBUDGET_PAYMENT_PORT": "40001", "ONEBUDGET_PAYMENT_ADDRESS": "pay.example:443"}
    assert service_address("payment", both) == "pay.example:443"


def test_a_stale_or_broken_state_file_is_not_trusted(state_dir: Path) -> None:
    stack_state.write_state(StackState(pid=_dead_pid(), services={"payment": "127.0.0.1:41234"}))
    assert read_state() is None
    assert service_address("payment", {}) == "127.0.0.1:50053"
    stack_state.state_path().write_text('{"pid": "x"')
    assert read_state() is None
    stack_state.state_path().write_text('{"services": {}}')
    assert read_state() is None


def test_a_bad_port_is_named(state_dir: Path) -> None:
    with pytest.raises(ConfigError, match="ONEBUDGET_PAYMENT_PORT"):
        service_address("payment", {"ONEBUDGET_PAYMENT_PORT": "abc"})
    with pytest.raises(ConfigError, match="ONEBUDGET_PAYMENT_PORT"):
        service_address("payment", {"ONEBUDGET_PAYMENT_PORT": "70000"})


def test_the_state_file_round_trips_and_is_removed(state_dir: Path) -> None:
    state = StackState(
        pid=os.getpid(),
        services={"payment": "127.0.0.1:1"},
        dashboard="http://127.0.0.1:2/",
        restarts={"payment": 2},
        tls_ca="/x/ca.pem",
        nats_health=["http://127.0.0.1:3/healthz?js-enabled-only=true"],
    )
    path = stack_state.write_state(state)
    assert path == state_dir / "run" / "stack.json"
    assert read_state() == state
    stack_state.remove_state()
    assert not path.exists()
    assert read_state() is None


def test_how_a_child_ended_reads() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"
    assert describe_exit(3) == "exit code 3"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("LTC=50", "'LTC' is not a cohort"),
        ("LONG_TERM_CONDITION=abc", "'abc' is not basis points"),
        ("LONG_TERM_CONDITION=10001", "'10001' is not basis points"),
        ("LONG_TERM_CONDITION", "'LONG_TERM_CONDITION' is not COHORT=BP"),
    ],
)
def test_a_bad_cohort_is_one_line_naming_it(
    spec: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["finance", "allocate", "--commissioner", "QNQ", "--year", "2026"]
    argv += ["--allocation-pence", "1", "--target-bp", "1", "--cohort", spec]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --cohort: {says}" in err
    assert "Traceback" not in err


def test_a_good_cohort_parses() -> None:
    args = cli.build_parser().parse_args(
        [
            "finance",
            "allocate",
            "--commissioner",
            "QNQ",
            "--year",
            "2026",
            "--allocation-pence",
            "1",
            "--target-bp",
            "500",
            "--cohort",
            "mental_health=200",
        ]
    )
    (target,) = args.cohort
    assert (target.cohort, target.basis_points) == (7, 200)  # COHORT_MENTAL_HEALTH


def test_no_internal_names_and_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["finance"])
    err = capsys.readouterr().err
    assert "finance_command" not in err
    assert "required: COMMAND" in err
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("onebudget ")


def test_status_says_when_nothing_runs(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status"]) == 3
    assert "OneBudget is not running here" in capsys.readouterr().err


def _logged_in(state_dir: Path, ttl_s: int = 900) -> None:
    finance = Actor("f-1", Role.COMMISSIONER_FINANCE, ("QNQ",))
    (state_dir / "token").write_text(TEST_ISSUER.mint(finance, ttl_s=ttl_s))


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (None, "not logged in"),
        (-60, "your login has expired"),
        (0, "not logged in"),
        (1, "your login file holds no token"),  # a file that is not a JWT is not an expired login
    ],
)
def test_a_command_without_a_live_login_is_one_line_and_exit_2(
    state_dir: Path, capsys: pytest.CaptureFixture[str], token: int | None, says: str
) -> None:
    if token == 1:
        (state_dir / "token").write_text("not-a-token")
    elif token is not None:
        if token:
            _logged_in(state_dir, ttl_s=token)
        else:
            (state_dir / "token").write_text("")
    code = cli.main(["report", "summary", "--commissioner", "QNQ", "--year", "2026"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"onebudget: {says}"), err
    assert len(err.strip().splitlines()) == 1


def test_login_without_a_running_stack_says_so(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["login", "--role", "care_broker", "--org", "QNQ"])
    assert code == 2
    assert "no local stack runs here" in capsys.readouterr().err
    assert not (state_dir / "token").exists()


def _a_stack_runs_here() -> None:
    stack_state.write_state(
        StackState(pid=os.getpid(), services={}, issuer="http://127.0.0.1:9/issuer")
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "care_broker", "--org", "QNQ,ZZZ"], "--org 'QNQ,ZZZ' is not an ODS or GSS"),
        (["--role", "care_broker", "--org", "QNQ", "--scope", "payment.ReleasePayment"],
         "--scope is for --role integration_partner only"),
        (["--role", "platform_operator", "--org", "QNQ"],
         "--org is not for --role platform_operator: it acts for no organisation"),
        (["--role", "auditor", "--org", "QNQ"],
         "--org is not for --role auditor: it acts for no organisation"),
        (["--role", "integration_partner", "--org", "QNQ", "--scope", "payment.Foo"],
         "--scope 'payment.Foo' names no RPC an integration partner may be registered for"),
        (["--role", "integration_partner", "--org", "QNQ", "--scope", "payment.ApproveFamilyPayee"],
         "--scope 'payment.ApproveFamilyPayee' names no RPC an integration partner may be"),
    ],
)  # fmt: skip
def test_login_refuses_what_no_service_would_accept(
    state_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    _a_stack_runs_here()
    assert cli.main(["login", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"onebudget: {says}"), err
    assert len(err.strip().splitlines()) == 1
    assert not (state_dir / "token").exists()


def test_a_partner_logs_in_with_the_rpcs_its_client_is_registered_for(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _a_stack_runs_here()
    login = ["login", "--role", "integration_partner", "--org", "QNQ"]
    scopes = ["--scope", "payment.ReleasePayment", "--scope", "payment.GetPayment"]
    assert cli.main([*login, *scopes]) == 0
    assert "logged in as integration_partner for QNQ" in capsys.readouterr().out
    token = (state_dir / "token").read_text()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "payment.ReleasePayment payment.GetPayment"
    assert claims["onebudget_organisations"] == ["QNQ"]


def test_a_fault_is_one_line_not_a_traceback(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _logged_in(state_dir)
    monkeypatch.setenv("ONEBUDGET_REPORTING_PORT", "not-a-port")
    code = cli.main(["report", "summary", "--commissioner", "QNQ", "--year", "2026"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("onebudget: ONEBUDGET_REPORTING_PORT")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            [
                "broker",
                "pay",
                "--budget",
                "0b6d1f0e-7d2a-4c55-9a11-2f1e7b9a0c01",
                "--plan-line",
                "0b6d1f0e-7d2a-4c55-9a11-2f1e7b9a0c01",
                "--payee",
                "0b6d1f0e-7d2a-4c55-9a11-2f1e7b9a0c01",
                "--amount-pence",
                "99999999999999999999999",
            ],
            "argument --amount-pence: 99999999999999999999999 is not whole pence from 1 to",
        ),
        (
            ["report", "summary", "--commissioner", "QNQ", "--year", "99999999999"],
            "argument --year: 99999999999 is not a year from 0 to 9,999",
        ),
        (["finance", "budgets", "--year", "abc"], "argument --year: 'abc' is not a year"),
    ],
)
def test_a_number_out_of_range_is_named_not_a_python_error(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found trying the stack: these printed `onebudget: ValueError: Value out of range`."""
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    assert "ValueError" not in err


def test_a_tls_service_is_shown_as_grpcs() -> None:
    # Issue 16: `status` showed grpc:// for services that speak only TLS.
    assert service_url("127.0.0.1:50053", tls=True) == "grpcs://127.0.0.1:50053"
    assert service_url("127.0.0.1:50053", tls=False) == "grpc://127.0.0.1:50053"
    state = StackState(pid=1, services={"payment": "127.0.0.1:5"}, tls_ca="/x/ca.pem")
    assert state.service_url("payment") == "grpcs://127.0.0.1:5"
    assert StackState(pid=1, services={"payment": "127.0.0.1:5"}).service_url("payment") == (
        "grpc://127.0.0.1:5"
    )
