"""PostgreSQL repositories and JetStream adapters of the entitlement service."""
