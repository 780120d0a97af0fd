"""NHS number, ODS code and GSS code checks (facts in shared/domain.md, "Identifiers")."""

from __future__ import annotations

import re

NHS_NUMBER_LENGTH = 10
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# ODS codes of commissioners: ICB (3, e.g. QNQ), sub-ICB location / former CCG (3 like 00L, or 5
# like D4U1Y). Upper-case letters and digits only.
_ODS_CODE = re.compile(r"^(?:[A-Z0-9]{3}|[A-Z0-9]{5})\Z")
# GSS codes of councils with social-services duties: E06 unitary, E08 metropolitan, E09 London
# borough, E10 county; 9 characters. E07 districts do not run social care.
_GSS_SOCIAL_CARE = re.compile(r"^E(?:06|08|09|10)\d{6}\Z")


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the number cannot be valid (check 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_nhs_number(value: str) -> bool:
    """Ten digits whose modulus-11 check digit is right (spaces are not accepted here)."""
    if len(value) != NHS_NUMBER_LENGTH or not value.isascii() or not value.isdigit():
        return False
    check = nhs_check_digit(value[:9])
    return check is not None and check == int(value[9])


def normalise_nhs_number(value: str) -> str:
    """Drop the spaces people type (`943 476 5919`); validity is checked separately."""
    return value.replace(" ", "").strip()


def mask_nhs_number(value: str) -> str:
    """All but the last four digits hidden, for logs: `******5919`."""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def is_valid_ods_code(value: str) -> bool:
    return bool(_ODS_CODE.match(value))


def is_valid_gss_council_code(value: str) -> bool:
    return bool(_GSS_SOCIAL_CARE.match(value))


def is_organisation_code(value: str) -> bool:
    """A commissioner's ODS code or a social-services council's GSS code (the organisations a
    payee may be registered with)."""
    return is_valid_ods_code(value) or is_valid_gss_council_code(value)
