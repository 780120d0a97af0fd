"""Every subject a service publishes is one its NATS user may publish (ADR 16): the anchors of
its audit trail (ADR 17) and, for the ledger's writers, the ledger's anchors. Found by a new
user: the audit anchors were refused by NATS, so `audit verify` failed on a fresh stack and each
service's health flapped NOT_SERVING."""

from __future__ import annotations

import uuid

import pytest

from onebudget.ledger import anchor as ledger_anchor
from onebudget.shared import audit_anchor
from onebudget.shared.bus import publish_subjects


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` one or more trailing tokens."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or (part != "*" and part != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def _may_publish(service: str, subject: str) -> bool:
    return any(_matches(p, subject) for p in publish_subjects(service))


@pytest.mark.parametrize("service", ["entitlement", "allocation", "payment", "reporting"])
def test_each_service_may_publish_its_audit_anchors_and_its_own_events(service: str) -> None:
    assert _may_publish(service, audit_anchor.anchor_subject(uuid.uuid4()))
    assert _may_publish(service, f"onebudget.{service}.person.registered.v1")
    other = "allocation" if service != "allocation" else "payment"
    assert not _may_publish(service, f"onebudget.{other}.budget.agreed.v1")


@pytest.mark.parametrize(
    ("service", "allowed"),
    [("allocation", True), ("payment", True), ("entitlement", False), ("reporting", False)],
)
def test_only_the_ledgers_writers_may_publish_its_anchors(service: str, allowed: bool) -> None:
    assert _may_publish(service, ledger_anchor.anchor_subject(uuid.uuid4())) is allowed


def test_the_matcher_follows_nats_wildcards() -> None:
    assert _matches("a.*", "a.b")
    assert not _matches("a.*", "a.b.c")
    assert _matches("a.>", "a.b.c")
    assert not _matches("a.>", "a")
    assert not _matches("a.b", "a.c")
