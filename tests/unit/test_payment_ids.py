"""The payment path's fast UUIDs are the UUIDs the standard library would make."""

from __future__ import annotations

import copy
import uuid

from onebudget.events.v1 import payment_pb2 as ev
from onebudget.ledger import FundingStream
from onebudget.ledger.chart import PAYMENT_NAMESPACE as _NAMESPACE
from onebudget.payment.domain.ids import new_payment_id, transfer_id
from onebudget.shared.outbox import new_event


def test_transfer_ids_are_uuid5_of_owner_what_and_stream() -> None:
    for _ in range(200):
        owner = uuid.uuid4()
        for what in ("pay", "reserve", "return-1"):
            for stream in FundingStream:
                made = transfer_id(owner, what, stream)
                expected = uuid.uuid5(_NAMESPACE, f"{owner}|{what}|{stream.value}")
                assert made == expected
                assert (str(made), hash(made), made.version) == (str(expected), hash(expected), 5)


def test_new_ids_are_random_version_4() -> None:
    ids = {new_payment_id() for _ in range(1000)}
    assert len(ids) == 1000
    for made in ids:
        assert (made.version, made.variant) == (4, uuid.RFC_4122)
        assert uuid.UUID(str(made)) == made
        assert copy.deepcopy(made) == made
    event_id = new_event(
        ev.PaymentReleased(), source="payment", aggregate_type="payment", aggregate_id="x"
    ).event_id
    parsed = uuid.UUID(event_id)
    assert (str(parsed), parsed.version, parsed.variant) == (event_id, 4, uuid.RFC_4122)
