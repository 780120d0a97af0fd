"""PostgreSQL repositories and JetStream adapters of the reporting service."""
