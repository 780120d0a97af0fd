"""Who may call what, and on whose resources: the one permission table and the one scope rule.

Issue 14, "Roles and scope". Deny by default: `PERMISSIONS` names, for every RPC of every
service, the roles allowed to call it; an RPC missing from it is refused to everyone
(tests/unit/test_permissions.py reads every RPC from the protos' descriptors and fails when one
has no rule; docs/security.md's table of roles is generated from it). The edge
(shared/grpc_edge.py) calls `check_permission` before the handler runs; the service layers call
`check_scope` where they have loaded the resource, with the organisations it belongs to.

Roles (shared/identity.py): commissioner finance (an ODS code), council finance (a GSS code),
care broker, care manager, integration partner (only RPCs its client is registered for, named
in its token's `scope`), auditor (read-only, everything), the budget holder (their own
budget and statement only) and the platform operator (the deployment as a whole: the reporting
read model's rebuild, for no organisation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from onebudget.shared.auth import scope_name
from onebudget.shared.errors import PermissionDenied
from onebudget.shared.identity import ANONYMOUS, Actor, Role

CF = Role.COMMISSIONER_FINANCE
COF = Role.COUNCIL_FINANCE
CB = Role.CARE_BROKER
CM = Role.CARE_MANAGER
IP = Role.INTEGRATION_PARTNER
AU = Role.AUDITOR
BH = Role.BUDGET_HOLDER
PO = Role.PLATFORM_OPERATOR

_ENTITLEMENT = "/onebudget.entitlement.v1.EntitlementService/"
_ALLOCATION = "/onebudget.allocation.v1.AllocationService/"
_PAYMENT = "/onebudget.payment.v1.PaymentService/"
_REPORTING = "/onebudget.reporting.v1.ReportingService/"
_AUDIT = "/onebudget.audit.v1.AuditService/"


def _rules(prefix: str, rules: Mapping[str, Iterable[Role]]) -> dict[str, frozenset[Role]]:
    return {prefix + method: frozenset(roles) for method, roles in rules.items()}


# Every RPC -> the roles that may call it. An integration partner listed here may call the RPC
# only when its token's scope names it too (its client's registration).
PERMISSIONS: dict[str, frozenset[Role]] = {
    **_rules(
        _ENTITLEMENT,
        {
            "RegisterPerson": (CM, IP),
            "GetPerson": (CM, AU, IP),
            "ListPeople": (CM, CF, AU),
            "UpdatePersonDetails": (CM, IP),
            "RecordEligibilityDecision": (CM,),
            "ListEligibility": (CM, CF, AU),
            "SetCommissionerPolicy": (CF,),
            "GetCommissionerPolicy": (CF, CM, AU),
            "RequestPersonalHealthBudget": (CM,),
            "RequestReconsideration": (CM,),
            "DecideReconsideration": (CM,),
            "ListReviewsDue": (CM, AU),
            "RecordReviewCompleted": (CM,),
            "RecordDeath": (CM, IP),
            "RecordConsentWithdrawn": (CM,),
            # Each item is RegisterPerson, RecordEligibilityDecision and
            # RequestPersonalHealthBudget: the role must be allowed all three (checked per item).
            "ImportPeople": (CM,),
        },
    ),
    **_rules(
        _ALLOCATION,
        {
            "RegisterCommissioner": (CF,),
            "RegisterCouncil": (COF,),
            "SetCommissionerAllocation": (CF,),
            "GetCommissionerAllocation": (CF, AU),
            "SetCouncilAllocation": (COF,),
            "CloseFinancialYear": (CF,),
            "CreateBudget": (CM, CF),
            "GetBudget": (CM, CF, COF, CB, AU, BH, IP),
            "ListBudgets": (CM, CF, COF, CB, AU),
            "AddPlanLine": (CM,),
            "RemovePlanLine": (CM,),
            "AgreeBudget": (CM, CF, COF),
            "ReviseBudget": (CM,),
            "EndBudget": (CM,),
            # Each item is CreateBudget, AddPlanLine per line and AgreeBudget: the role must be
            # allowed all three (checked per item).
            "ImportBudgets": (CM,),
        },
    ),
    **_rules(
        _PAYMENT,
        {
            "RegisterPayee": (CB, IP),
            "ApproveFamilyPayee": (CF, CM),
            "GetPayee": (CB, AU, IP),
            "ReleasePayment": (CB, IP),
            "ReleasePayments": (CB, IP),
            "ReservePayment": (CB, IP),
            "ConfirmPayment": (CB, IP),
            "CancelPayment": (CB, IP),
            "GetPayment": (CB, CF, COF, AU, IP),
            "ListPayments": (CB, CF, COF, AU),
            "GetBudgetStatement": (CB, CF, COF, CM, AU, BH, IP),
            "CreateSchedule": (CB,),
            "GetSchedule": (CB, CM, AU),
            "OffsetAccumulatedFunds": (CF, COF),
            "RecordReturn": (CB,),
            "RequireRepayment": (CF, COF),
            "RecordRepaymentReceived": (CB, CF, COF),
            "WriteOffRepayment": (CF, COF),
            "GetRepayment": (CB, CF, COF, AU),
            "StopPayments": (CF, COF, CM),
            "ResumePayments": (CF, COF, CM),
            "ListPayees": (CB, CF, COF, CM, AU),
        },
    ),
    **_rules(
        _REPORTING,
        {
            "GetCommissionerSummary": (CF, AU),
            "GetCouncilSummary": (COF, AU),
            "GetTargetStatus": (CF, AU),
            "ExportQuarterlyReturn": (CF, AU),
            "Reconcile": (CF, AU),
            # Wipes and rebuilds the whole read model from the event streams: every
            # organisation's reports answer READ_MODEL_REBUILDING until it is done, so no role
            # scoped to one organisation may decide it (issue 14), and the auditor only reads.
            # The platform operator, who runs the deployment for no organisation, does.
            "RebuildReadModel": (PO,),
            # Whether the read model is current or being rebuilt, and the replay's progress: no
            # figures, so every finance role and the operator may ask.
            "GetReadModelStatus": (CF, COF, AU, PO),
        },
    ),
    # Each service serves its own audit trail (ADR 17): read by auditors only.
    **_rules(_AUDIT, {"ListAuditRecords": (AU,)}),
}

# Roles whose every call is checked against the resource's organisations.
SCOPED_ROLES = frozenset({CF, COF, CB, CM, IP})


def scope_of(method: str) -> str:
    """`/onebudget.payment.v1.PaymentService/ReleasePayment` -> `payment.ReleasePayment`: how
    an RPC is named in a partner's `scope` and in docs/security.md (shared/auth.py scope_name)."""
    service, name = method.strip("/").split("/")
    return scope_name(service.split(".")[1], name)


def partner_scopes() -> frozenset[str]:
    """Every `scope` entry an integration partner's token may name: `<service>.<Method>` of each
    RPC the table lets an integration partner call."""
    return frozenset(scope_of(method) for method, roles in PERMISSIONS.items() if IP in roles)


def allowed_roles(method: str) -> frozenset[Role]:
    """The roles that may call `method` (`/package.Service/Method`); empty: nobody."""
    return PERMISSIONS.get(method, frozenset())


def check_permission(actor: Actor, method: str) -> None:
    """Raises PermissionDenied unless `actor`'s role may call `method`.

    Reasons: PERMISSION_DENIED_ROLE (no rule for the method, or not the actor's role),
    PERMISSION_DENIED_CLIENT (an integration partner whose client is not registered for it)."""
    if actor.role not in allowed_roles(method):
        raise PermissionDenied(
            reason="PERMISSION_DENIED_ROLE",
            message=f"the role {actor.role.value} may not call {method.rsplit('/', 1)[-1]}",
            metadata={"role": actor.role.value},
        )
    if actor.role is IP:
        registered = actor.extra.get("scope", "").split()
        if scope_of(method) not in registered:
            raise PermissionDenied(
                reason="PERMISSION_DENIED_CLIENT",
                message=f"this client is not registered for {method.rsplit('/', 1)[-1]}",
                metadata={"client_id": actor.client_id},
            )


def check_scope(actor: Actor, organisations: Iterable[str], person_id: str = "") -> None:
    """Raises PermissionDenied unless `actor` may act on a resource of `organisations` (the ODS
    / GSS codes it belongs to: a budget's commissioner and council, an allocation's
    commissioner) or, for a budget holder, of the person `person_id`.

    - the system (a service's own background work) and the auditor (read-only by the table)
      see every organisation; the anonymous actor nothing (PERMISSION_DENIED_ANONYMOUS);
    - a budget holder only resources of their own person (PERMISSION_DENIED_PERSON);
    - every other role only resources of an organisation it acts for
      (PERMISSION_DENIED_ORGANISATION).
    """
    if actor == ANONYMOUS:
        raise PermissionDenied(
            reason="PERMISSION_DENIED_ANONYMOUS", message="nobody is acting: refused"
        )
    if actor.role in (Role.SYSTEM, AU):
        return
    if actor.role is BH:
        if not person_id or person_id != actor.subject:
            raise PermissionDenied(
                reason="PERMISSION_DENIED_PERSON",
                message="a budget holder may read only their own budget",
            )
        return
    wanted = {o for o in organisations if o}
    if not wanted & set(actor.organisations):
        raise PermissionDenied(
            reason="PERMISSION_DENIED_ORGANISATION",
            message="the resource belongs to an organisation this caller does not act for",
        )
