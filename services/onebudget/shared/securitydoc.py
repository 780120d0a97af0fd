"""Generate docs/security.md's table of roles from the one permission table (issue 14).

`scripts/gen-protos` runs it (a new RPC needs a rule, and the doc follows the rule); a test
fails when the section between the markers differs from what `shared/permissions.py` says now.
"""

from __future__ import annotations

from onebudget.shared.codegen import PROJECT_ROOT
from onebudget.shared.identity import Role
from onebudget.shared.permissions import PERMISSIONS, scope_of

SECURITY_DOC = PROJECT_ROOT / "docs" / "security.md"
BEGIN = (
    "<!-- roles: generated from services/onebudget/shared/permissions.py by scripts/gen-protos -->"
)
END = "<!-- end of the generated roles -->"
SCOPES = {
    Role.COMMISSIONER_FINANCE: "its ODS codes",
    Role.COUNCIL_FINANCE: "its GSS codes",
    Role.CARE_BROKER: "the commissioners and councils it works for",
    Role.CARE_MANAGER: "the commissioners and councils it works for",
    Role.INTEGRATION_PARTNER: "its client's organisations; only RPCs named in its `scope`",
    Role.AUDITOR: "every organisation, read-only",
    Role.BUDGET_HOLDER: "their own budget (the token's `sub` is their person id)",
    Role.PLATFORM_OPERATOR: "none: the deployment as a whole, no organisation's resources",
}


def render_roles() -> str:
    """The markdown table: each caller role, whose resources it may touch, the RPCs it may call."""
    rows = [
        BEGIN,
        "",
        "| role | organisation scope | may call |",
        "|---|---|---|",
    ]
    for role in Role:
        if role is Role.SYSTEM:
            continue
        methods = sorted(f"`{scope_of(m)}`" for m, roles in PERMISSIONS.items() if role in roles)
        scope = SCOPES[role]
        rows.append(f"| `{role.value}` | {scope} | {', '.join(methods)} |")
    rows += ["", END]
    return "\n".join(rows)


def current_section(text: str) -> str:
    """The generated section of `text` (markers included), or "" when it has none."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < 0:
        return ""
    return text[start : end + len(END)]


def write() -> None:
    text = SECURITY_DOC.read_text()
    section = current_section(text)
    assert section, f"{SECURITY_DOC} has no generated section (markers {BEGIN!r} ... {END!r})"
    SECURITY_DOC.write_text(text.replace(section, render_roles()))


if __name__ == "__main__":
    write()
