"""Use-case handlers of the payment service: one function per command, one transaction each."""
