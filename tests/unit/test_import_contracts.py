"""Each import contract in pyproject.toml ([tool.importlinter]) can fail.

./scripts/test runs `lint-imports` over the real tree (every contract KEPT); here each contract
is run over a copy of services/onebudget with one forbidden import added, and must be BROKEN
naming the module that imports it. A
contract that cannot fail (a misspelt module, an external package the graph does not see)
would pass everything and prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# contract id -> (module file under services/onebudget, the forbidden import added to it)
VIOLATIONS = {
    "services-independent": (
        "allocation/service_layer/budgets.py",
        "import onebudget.payment.config",
    ),
    "services-layered": (
        "reporting/service_layer/mapping.py",
        "import onebudget.reporting.entrypoints.cli",
    ),
    "domains-pure": ("payment/domain/schedules.py", "import grpc"),
    "domains-pure-protobuf": (
        "ledger/chart.py",
        "from google.protobuf import timestamp_pb2",
    ),
    "domains-pure-db": ("entitlement/domain/dates.py", "import asyncpg"),
    # Domains raise shared.errors: were it to map to gRPC itself, every domain would import grpc.
    "domains-pure-errors": ("shared/errors.py", "import grpc"),
    "config-is-plumbing": (
        "payment/config.py",
        "import onebudget.payment.adapters.repository",
    ),
    "shared-is-plumbing": ("shared/money.py", "import onebudget.ledger.domain"),
    "ledger-below-services": (
        "ledger/audit.py",
        "import onebudget.reporting.domain.model",
    ),
    "adapters-no-wire": (
        "allocation/adapters/repository.py",
        "from onebudget.allocation.v1 import allocation_service_pb2",
    ),
}


def _lint(project: Path, contract: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project / "services")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_contract_breaks_on_a_forbidden_import(case: str, tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "services" / "onebudget",
        tmp_path / "services" / "onebudget",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    contract = case.removesuffix("-protobuf").removesuffix("-db").removesuffix("-errors")
    path, line = VIOLATIONS[case]
    module = tmp_path / "services" / "onebudget" / path
    module.write_text(module.read_text() + f"\n{line}  # noqa\n")
    after = _lint(tmp_path, contract)
    assert after.returncode != 0, after.stdout + after.stderr
    assert "BROKEN" in after.stdout
    importer = "onebudget." + path.removesuffix(".py").replace("/", ".")
    assert importer in after.stdout, after.stdout
