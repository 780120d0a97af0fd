"""structlog JSON logs to stdout: one line per RPC and per consumed event, personal data masked."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from onebudget.shared.identifiers import mask_nhs_number

# Any run of 10 digits (optionally spaced 3-3-4) could be an NHS number: mask it wherever it is.
_TEN_DIGITS = re.compile(r"(?<!\d)(\d{3}) ?(\d{3}) ?(\d{4})(?!\d)")
_SENSITIVE_KEYS = frozenset({"nhs_number", "name", "given_name", "family_name", "date_of_birth"})


def _mask_match(match: re.Match[str]) -> str:
    return mask_nhs_number("".join(match.groups()))


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Never log a full NHS number or a name (processor; runs on every line, so the common case,
    a string with no ten-digit run, costs one regex search and no function call)."""
    search = _TEN_DIGITS.search
    for key, value in event_dict.items():  # replaces values only: the keys stay as they are
        if key in _SENSITIVE_KEYS:
            event_dict[key] = mask_nhs_number(str(value)) if key == "nhs_number" else "***"
        elif isinstance(value, str) and search(value):
            event_dict[key] = _TEN_DIGITS.sub(_mask_match, value)
    return event_dict


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks are rendered first so that the masking sees their text too.
            structlog.processors.format_exc_info,
            mask_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
