"""The reporting service: CCG finance read models, the quarterly PHB return, reconciliation
with the ledger."""
