"""Pure entitlement rules: no database, bus or gRPC imports here."""
