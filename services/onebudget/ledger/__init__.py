"""The ledger core: the only code that moves money (see docs/adr/0002-ledger-design.md).

Its submodules `chart` (the chart of accounts: kinds, owners, ids) and `reads` (every query of
the ledger's tables another package needs) are imported by name: `from onebudget.ledger import
chart, reads`. Pure code imports `onebudget.ledger.domain` or `.chart`, never this package,
which brings asyncpg with the store.
"""

from __future__ import annotations

from onebudget.ledger.audit import verify
from onebudget.ledger.domain import (
    Account,
    AccountRecord,
    Balance,
    CreateAccountResult,
    CreateTransferResult,
    FundingStream,
    StoredTransfer,
    Transfer,
)
from onebudget.ledger.group_commit import GroupCommitConfig, GroupCommitter
from onebudget.ledger.optimistic import LedgerView, create_transfer_groups_viewed
from onebudget.ledger.store import (
    LedgerInvariantViolation,
    TransferPage,
    apply_ledger_migrations,
    available_balances,
    create_accounts,
    create_transfer_groups,
    create_transfers,
    expire_pending,
    get_account_balance,
    ledger_clock,
    list_transfers,
    lookup_accounts,
    lookup_transfers,
)

__all__ = [
    "Account",
    "AccountRecord",
    "Balance",
    "CreateAccountResult",
    "CreateTransferResult",
    "FundingStream",
    "GroupCommitConfig",
    "GroupCommitter",
    "LedgerInvariantViolation",
    "LedgerView",
    "StoredTransfer",
    "Transfer",
    "TransferPage",
    "apply_ledger_migrations",
    "available_balances",
    "create_accounts",
    "create_transfer_groups",
    "create_transfer_groups_viewed",
    "create_transfers",
    "expire_pending",
    "get_account_balance",
    "ledger_clock",
    "list_transfers",
    "lookup_accounts",
    "lookup_transfers",
    "verify",
]
