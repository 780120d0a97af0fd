"""Every environment variable the code reads is in the README's table (issue 16: the CLI's
`ONEBUDGET_<SERVICE>_ADDRESS` was read but undocumented)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_NAMES = ("ENTITLEMENT", "ALLOCATION", "PAYMENT", "REPORTING")


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "services" / "onebudget").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\bONEBUDGET_[A-Z0-9_]*[A-Z0-9]\b", text))
        # Names built from a prefix: prefix = "ONEBUDGET_PAYMENT_" ... f"{prefix}BATCH_SIZE_MAX"
        for prefix in re.findall(r'prefix = "(ONEBUDGET_[A-Z_]+_)"', text):
            names |= {prefix + rest for rest in re.findall(r'f"\{prefix\}([A-Z0-9_]+)"', text)}
    return names


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `ONEBUDGET_")]
    names: set[str] = set()
    for row in rows:
        for name in re.findall(r"`(ONEBUDGET_[A-Z0-9_<>]+)`", row.split("|")[1]):
            if "<SERVICE>" in name:
                names |= {name.replace("<SERVICE>", s) for s in SERVICE_NAMES}
            else:
                names.add(name)
    return names


def test_every_variable_the_code_reads_is_in_the_readme() -> None:
    read = _read_by_code()
    assert {"ONEBUDGET_PAYMENT_BATCH_SIZE_MAX", "ONEBUDGET_DATABASE_URL"} <= read  # it finds them
    # A retired name is read only to refuse it with the name of its replacement.
    retired = {"ONEBUDGET_PAYMENT_EXCLUDED_CATEGORIES"}
    missing = sorted(read - retired - _documented())
    assert missing == [], f"read by the code, not in README.md's table: {missing}"
