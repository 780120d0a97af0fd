"""Use-case handlers of the reporting service: one function per command, one transaction each."""
