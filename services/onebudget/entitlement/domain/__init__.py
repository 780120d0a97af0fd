"""Pure domain of the entitlement service: model, commands, events, errors. No I/O imports here."""
