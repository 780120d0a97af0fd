"""gRPC servicer and event consumers of the payment service."""
