"""`onebudget login`: a short-lived bearer token for the CLI, from the local stack's issuer.

Issue 14. `onebudget login --role ROLE --org CODE` signs a token (TOKEN_TTL_S, 15 minutes) with
the local issuer's key (shared/runtime/issuer.py) for the stack `up` runs here, and keeps it in
`<state dir>/token` (mode 0600). Every command that calls a service sends it; when there is
none, or it has expired, the command stops with one line and exit 2 (`NotLoggedIn`). With an
external identity provider, put its access token in that file instead (docs/security.md).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from datetime import UTC, datetime

import jwt

from onebudget.shared.clock import SYSTEM_CLOCK
from onebudget.shared.identifiers import is_organisation_code
from onebudget.shared.identity import Actor, Role
from onebudget.shared.permissions import SCOPED_ROLES, partner_scopes
from onebudget.shared.runtime.issuer import TOKEN_TTL_S, LocalIssuer, issuer_dir, token_path
from onebudget.shared.runtime.stack_state import read_state

CALLER_ROLES = tuple(r.value for r in Role if r is not Role.SYSTEM)


class NotLoggedIn(Exception):
    """No token, or an expired one: the one line the CLI prints before exiting 2."""


def login(
    role: str, organisations: Sequence[str], subject: str = "", scopes: Sequence[str] = ()
) -> str:
    """Mint and store the CLI's token; the line to print. `scopes` are the RPCs an
    integration partner's client is registered for ("payment.ReleasePayment", shared/auth.py
    scope_name). Raises NotLoggedIn when no local stack runs here (its issuer is the one the
    services trust), an organisation is not an ODS / GSS code or is given to a role that acts
    for none (auditor, platform operator, budget holder), or scopes are given to a role other
    than integration_partner or name no RPC a partner may call."""
    state = read_state()
    if state is None or not state.issuer:
        raise NotLoggedIn("no local stack runs here to log in to: start it with `onebudget up`")
    for code in organisations:
        if not is_organisation_code(code):
            raise NotLoggedIn(
                f"--org {code!r} is not an ODS or GSS code (one code per --org; repeat --org"
                " for several)"
            )
    if organisations and Role(role) not in SCOPED_ROLES:
        raise NotLoggedIn(
            f"--org is not for --role {role}: it acts for no organisation (leave --org out)"
        )
    if scopes and role != Role.INTEGRATION_PARTNER.value:
        raise NotLoggedIn("--scope is for --role integration_partner only")
    unknown = sorted(set(scopes) - partner_scopes())
    if unknown:
        raise NotLoggedIn(
            f"--scope {unknown[0]!r} names no RPC an integration partner may be registered for"
            " (the form is service.Method, e.g. payment.ReleasePayment)"
        )
    actor = Actor(subject or f"local:{getpass.getuser()}", Role(role), tuple(organisations))
    token = LocalIssuer(issuer_dir(), state.issuer).mint(
        actor, ttl_s=TOKEN_TTL_S, scope=" ".join(scopes)
    )
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    partial.replace(path)
    until = datetime.fromtimestamp(SYSTEM_CLOCK.now().timestamp() + TOKEN_TTL_S, UTC)
    orgs = ", ".join(organisations) or "no organisation"
    return f"logged in as {role} for {orgs} until {until:%H:%M} UTC ({path})"


def stored_token() -> str:
    """The CLI's token; raises NotLoggedIn when there is none or it has expired."""
    try:
        token = token_path().read_text().strip()
    except OSError:
        token = ""
    if not token:
        raise NotLoggedIn("not logged in: run `onebudget login --role ROLE --org CODE` first")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        expires = float(claims.get("exp", 0))
    except (jwt.InvalidTokenError, TypeError, ValueError):
        raise NotLoggedIn(
            f"your login file holds no token ({token_path()}): run `onebudget login --role"
            " ROLE --org CODE`"
        ) from None
    if expires <= SYSTEM_CLOCK.now().timestamp():
        raise NotLoggedIn("your login has expired: run `onebudget login --role ROLE --org CODE`")
    return token
