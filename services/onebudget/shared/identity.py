"""Who is acting: the caller's identity, as service layers, the audit trail and the ledger see it.

Issue 14. The edge (shared/grpc_edge.py) verifies the caller's bearer token and sets the acting
`Actor` for the duration of the call (`acting_as`); background work (consumers, the scheduler,
the relay) acts as its service's `system_actor`. Code that records who did something (the audit
trail, ledger transfers, event envelopes) reads `current_actor()` and never parses a token itself.

Roles are the users' own words (issue 14, "Roles and scope"):

- `commissioner_finance`: an ICB / sub-ICB finance officer; organisation is its ODS code (QNQ).
- `council_finance`: a council finance officer; organisation is its GSS code (E10000014).
- `care_broker`: releases, reserves, schedules and returns for the organisations it works for.
- `care_manager`: plans, agreements and reviews.
- `integration_partner`: only the RPCs its client is registered for.
- `auditor`: read-only, everything, including the audit trail.
- `budget_holder`: reads their own budget and statement only (organisation is empty; the subject
  names the person).
- `platform_operator`: runs the deployment as a whole, for no organisation: rebuilds the
  reporting read model (which every organisation's reports depend on) and reads its status;
  touches no organisation's resources (docs/security.md).
- `system`: a service's own background work; never granted to a caller's token.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    COMMISSIONER_FINANCE = "commissioner_finance"
    COUNCIL_FINANCE = "council_finance"
    CARE_BROKER = "care_broker"
    CARE_MANAGER = "care_manager"
    INTEGRATION_PARTNER = "integration_partner"
    AUDITOR = "auditor"
    BUDGET_HOLDER = "budget_holder"
    PLATFORM_OPERATOR = "platform_operator"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """One acting identity.

    `subject` is the token's `sub` (an opaque, stable id: never an NHS number or a name);
    `organisations` are the ODS / GSS codes the actor acts for (empty for an auditor, a budget
    holder and the system); `client_id` is the OAuth client (`azp`) the call came through.
    """

    subject: str
    role: Role
    organisations: tuple[str, ...] = ()
    client_id: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def organisation(self) -> str:
        """The first organisation, or "" (for the audit trail's one-column view)."""
        return self.organisations[0] if self.organisations else ""


def system_actor(service: str) -> Actor:
    """The identity of a service's own background work (consumers, scheduler, relay, pruner)."""
    return Actor(subject=f"system:{service}", role=Role.SYSTEM)


ANONYMOUS = Actor(subject="anonymous", role=Role.SYSTEM)

_current: ContextVar[Actor] = ContextVar("onebudget_actor", default=ANONYMOUS)


def current_actor() -> Actor:
    """The actor of the call or task in progress (ANONYMOUS when nothing has set one)."""
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the block as `actor`; the previous actor is restored on leaving it."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
