"""gRPC servicer and event consumers of the allocation service."""
