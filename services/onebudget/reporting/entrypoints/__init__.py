"""gRPC servicer and event consumers of the reporting service."""
