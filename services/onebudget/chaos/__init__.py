"""The chaos harness (issue 15): faults injected into a running stack under a payment load, and
the proof that nothing was lost or duplicated and that every part came back by itself."""
