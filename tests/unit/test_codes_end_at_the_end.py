"""A code is the whole string: a trailing newline is not part of a valid code.

`re.match` with `$` also matches before a final "\\n", so "personal_care\\n" passed as a category
code, "QNQ\\n" as an ODS code and "payment\\n" as a ledger reason. Every code pattern now ends
with `\\Z`. The gRPC edge refuses control characters before any of these is reached
(shared/edge_checks.py); these tests hold the rules themselves to the same, for every caller.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from onebudget.allocation.domain.model import is_category_code
from onebudget.ledger.domain import (
    Account,
    CreateAccountResult,
    FundingStream,
    LedgerState,
    Transfer,
    decide,
    validate_account,
)
from onebudget.ledger.domain import CreateTransferResult as R
from onebudget.shared.identifiers import is_valid_gss_council_code, is_valid_ods_code
from onebudget.shared.plumbing import plumbing_migrations


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t"])
def test_no_code_takes_a_trailing_newline_or_space(suffix: str) -> None:
    assert is_category_code("personal_care")
    assert not is_category_code("personal_care" + suffix)
    assert is_valid_ods_code("QNQ")
    assert not is_valid_ods_code("QNQ" + suffix)
    assert is_valid_gss_council_code("E10000015")
    assert not is_valid_gss_council_code("E10000015" + suffix)


def test_a_ledger_kind_and_reason_are_whole_codes() -> None:
    account = Account(uuid4(), "budget", "owner", FundingStream.NHS)
    assert validate_account(account) is CreateAccountResult.OK
    assert validate_account(replace(account, kind="budget\n")) is CreateAccountResult.KIND_INVALID
    debit, credit = uuid4(), uuid4()
    # The shape is checked before any account is looked up: no accounts are needed.
    state = LedgerState(base_ts=0, accounts={}, transfers={}, resolutions={}, reversed_amounts={})
    results, _ = decide(
        [[Transfer(uuid4(), debit, credit, 1, "payment\n")]],
        state,
    )
    assert results[0] == [R.REASON_INVALID]


def test_a_schema_name_is_a_whole_name() -> None:
    assert plumbing_migrations("payment")
    with pytest.raises(ValueError, match="schema"):
        plumbing_migrations("payment\n")
