"""Pure domain of the payment service: model, commands, events, errors. No I/O imports here."""
