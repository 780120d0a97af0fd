"""Use-case handlers of the allocation service: one function per command, one transaction each."""
