"""Pure domain of the allocation service: model, commands, events, errors. No I/O imports here."""
