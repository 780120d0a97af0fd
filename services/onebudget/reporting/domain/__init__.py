"""Pure domain of the reporting service: model, commands, events, errors. No I/O imports here."""
