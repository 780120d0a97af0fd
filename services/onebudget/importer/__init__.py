"""Bulk import of a commissioner's existing PHBs from one CSV file (issue 17; docs/import.md)."""
