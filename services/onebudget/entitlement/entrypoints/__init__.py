"""gRPC servicer and event consumers of the entitlement service."""
