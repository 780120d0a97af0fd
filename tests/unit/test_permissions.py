"""The one permission table and the one scope rule (issue 14, "Roles and scope").

Deny by default: every RPC the protos declare has a rule, read from the protos themselves, so a
new RPC without one fails here, not in production."""

from __future__ import annotations

import pytest

from onebudget.shared.apidoc import descriptor_set
from onebudget.shared.errors import PermissionDenied
from onebudget.shared.identity import ANONYMOUS, Actor, Role, system_actor
from onebudget.shared.permissions import (
    PERMISSIONS,
    allowed_roles,
    check_permission,
    check_scope,
)
from onebudget.shared.securitydoc import SECURITY_DOC, current_section, render_roles


def _rpcs_in_protos() -> set[str]:
    found = set()
    for file in descriptor_set().file:
        for service in file.service:
            for method in service.method:
                found.add(f"/{file.package}.{service.name}/{method.name}")
    return found


RPCS = _rpcs_in_protos()
READS = ("Get", "List", "Export", "Reconcile")


def test_every_rpc_of_every_service_has_a_rule() -> None:
    assert len(RPCS) > 50
    missing = sorted(RPCS - PERMISSIONS.keys())
    assert missing == [], f"RPCs with no rule in shared/permissions.py (denied to all): {missing}"


def test_every_rule_names_an_rpc_that_exists() -> None:
    assert sorted(PERMISSIONS.keys() - RPCS) == []


def test_every_rpc_allows_some_caller_and_never_the_system() -> None:
    for method, roles in PERMISSIONS.items():
        assert roles, method
        assert Role.SYSTEM not in roles, method


def test_the_auditor_only_reads() -> None:
    for method, roles in PERMISSIONS.items():
        name = method.rsplit("/", 1)[1]
        if Role.AUDITOR in roles:
            assert name.startswith(READS), f"the auditor may call {name}"


def test_a_budget_holder_reads_only_a_budget_and_its_statement() -> None:
    held = sorted(m.rsplit("/", 1)[1] for m, r in PERMISSIONS.items() if Role.BUDGET_HOLDER in r)
    assert held == ["GetBudget", "GetBudgetStatement"]


ALLOCATION = "/onebudget.allocation.v1.AllocationService/SetCommissionerAllocation"
RELEASE = "/onebudget.payment.v1.PaymentService/ReleasePayment"
REBUILD = "/onebudget.reporting.v1.ReportingService/RebuildReadModel"


def _denied(call: object) -> str:
    assert callable(call)
    with pytest.raises(PermissionDenied) as refused:
        call()
    return refused.value.reason


def test_a_role_not_in_the_rule_is_refused() -> None:
    broker = Actor("b-1", Role.CARE_BROKER, ("QNQ",))
    assert _denied(lambda: check_permission(broker, ALLOCATION)) == "PERMISSION_DENIED_ROLE"
    auditor = Actor("a-1", Role.AUDITOR)
    assert _denied(lambda: check_permission(auditor, REBUILD)) == "PERMISSION_DENIED_ROLE"
    check_permission(Actor("f-1", Role.COMMISSIONER_FINANCE, ("QNQ",)), ALLOCATION)
    check_permission(broker, RELEASE)


def test_only_the_platform_operator_rebuilds_the_read_model() -> None:
    """Issue 14: a rebuild wipes every organisation's reports until the replay is done, so no
    role scoped to one organisation decides it (a finance officer of any commissioner or
    council), nor the read-only auditor; the platform operator, for no organisation, does, and
    may otherwise only ask how the rebuild is going."""
    assert allowed_roles(REBUILD) == {Role.PLATFORM_OPERATOR}
    for role in (Role.COMMISSIONER_FINANCE, Role.COUNCIL_FINANCE, Role.CARE_MANAGER):
        officer = Actor("f-1", role, ("QNQ", "E06000036"))
        assert _denied(lambda a=officer: check_permission(a, REBUILD)) == "PERMISSION_DENIED_ROLE"
    operator = Actor("ops-1", Role.PLATFORM_OPERATOR)
    check_permission(operator, REBUILD)
    operated = sorted(
        m.rsplit("/", 1)[1] for m, r in PERMISSIONS.items() if Role.PLATFORM_OPERATOR in r
    )
    assert operated == ["GetReadModelStatus", "RebuildReadModel"]
    # It acts for no organisation: any organisation's resource is refused.
    assert _denied(lambda: check_scope(operator, ["QNQ"])) == "PERMISSION_DENIED_ORGANISATION"


def test_an_rpc_with_no_rule_is_refused_to_everyone() -> None:
    unknown = "/onebudget.payment.v1.PaymentService/MoveEverything"
    assert allowed_roles(unknown) == frozenset()
    for role in Role:
        actor = Actor("x", role, ("QNQ",))
        assert _denied(lambda a=actor: check_permission(a, unknown)) == "PERMISSION_DENIED_ROLE"


def test_an_integration_partner_calls_only_what_its_client_is_registered_for() -> None:
    registered = Actor(
        "p-1", Role.INTEGRATION_PARTNER, ("QNQ",), "acme", {"scope": "payment.ReleasePayment"}
    )
    check_permission(registered, RELEASE)
    other = "/onebudget.payment.v1.PaymentService/ReservePayment"
    assert _denied(lambda: check_permission(registered, other)) == "PERMISSION_DENIED_CLIENT"
    # Registered or not, never an RPC the table does not open to partners.
    assert _denied(lambda: check_permission(registered, ALLOCATION)) == "PERMISSION_DENIED_ROLE"


def test_a_finance_officer_touches_only_its_own_commissioner() -> None:
    qnq = Actor("f-1", Role.COMMISSIONER_FINANCE, ("QNQ",))
    check_scope(qnq, ["QNQ"])
    check_scope(qnq, ["QNQ", "E06000036"])  # a budget: its commissioner and its council
    assert _denied(lambda: check_scope(qnq, ["00L"])) == "PERMISSION_DENIED_ORGANISATION"
    assert _denied(lambda: check_scope(qnq, ["00L", "E06000036"])) == (
        "PERMISSION_DENIED_ORGANISATION"
    )
    assert _denied(lambda: check_scope(qnq, [""])) == "PERMISSION_DENIED_ORGANISATION"


def test_a_broker_pays_only_from_budgets_of_its_organisations() -> None:
    broker = Actor("b-1", Role.CARE_BROKER, ("E06000036", "QNQ"))
    check_scope(broker, ["00L", "E06000036"])  # works for the council of this budget
    assert _denied(lambda: check_scope(broker, ["00L", "E10000015"])) == (
        "PERMISSION_DENIED_ORGANISATION"
    )
    lone = Actor("b-2", Role.CARE_BROKER)
    assert _denied(lambda: check_scope(lone, ["QNQ"])) == "PERMISSION_DENIED_ORGANISATION"


def test_a_budget_holder_reads_only_their_own_budget() -> None:
    holder = Actor("person-1", Role.BUDGET_HOLDER)
    check_scope(holder, ["QNQ"], person_id="person-1")
    assert _denied(lambda: check_scope(holder, ["QNQ"], person_id="person-2")) == (
        "PERMISSION_DENIED_PERSON"
    )
    assert _denied(lambda: check_scope(holder, ["QNQ"])) == "PERMISSION_DENIED_PERSON"


def test_the_auditor_and_the_system_see_every_organisation_and_nobody_none() -> None:
    check_scope(Actor("a-1", Role.AUDITOR), ["00L"])
    check_scope(system_actor("payment"), ["00L"])
    assert _denied(lambda: check_scope(ANONYMOUS, ["QNQ"])) == "PERMISSION_DENIED_ANONYMOUS"


def test_the_security_doc_roles_are_not_stale() -> None:
    text = SECURITY_DOC.read_text()
    assert current_section(text) == render_roles(), (
        "docs/security.md's roles are stale: run scripts/gen-protos"
    )
