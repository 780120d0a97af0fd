"""PostgreSQL repositories and JetStream adapters of the payment service."""
