"""PostgreSQL repositories and JetStream adapters of the allocation service."""
