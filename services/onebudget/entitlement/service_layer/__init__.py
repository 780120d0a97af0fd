"""Use-case handlers of the entitlement service: one function per command, one transaction each."""
