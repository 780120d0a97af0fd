"""Every amount field of every API goes through the one bounded pence check
(shared.validation.check_pence): found from the proto descriptors, called through the real gRPC
services (issue 12: OffsetAccumulatedFunds took unused_balance_pence up to 2^63-1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onebudget.allocation.entrypoints.app import SPEC as ALLOCATION
from onebudget.allocation.v1 import allocation_service_pb2
from onebudget.entitlement.entrypoints.app import SPEC as ENTITLEMENT
from onebudget.entitlement.v1 import entitlement_service_pb2
from onebudget.payment.entrypoints.app import SPEC as PAYMENT
from onebudget.payment.v1 import payment_service_pb2
from onebudget.reporting.entrypoints.app import SPEC as REPORTING
from onebudget.reporting.v1 import reporting_service_pb2
from onebudget.shared.channels import open_aio_channel
from onebudget.shared.errors import Violations
from onebudget.shared.money import PENCE_MAX
from onebudget.shared.server import ServiceSpec
from onebudget.shared.validation import check_pence
from tests.conftest import StartService

SERVICES: tuple[tuple[Any, ServiceSpec], ...] = (
    (entitlement_service_pb2, ENTITLEMENT),
    (allocation_service_pb2, ALLOCATION),
    (payment_service_pb2, PAYMENT),
    (reporting_service_pb2, REPORTING),
)
INT64 = descriptor.FieldDescriptor.TYPE_INT64
OVER_BOUND = (PENCE_MAX + 1, 2**63 - 1, -1, -(2**63))


@dataclass(frozen=True)
class PenceField:
    spec: ServiceSpec
    service: str  # full name, e.g. onebudget.payment.v1.PaymentService
    method: descriptor.MethodDescriptor
    path: tuple[descriptor.FieldDescriptor, ...]  # from the request message down to the field

    @property
    def name(self) -> str:
        """The field as a BadRequest names it: line.cost_per_occurrence_pence, payments[0]..."""
        return ".".join(f.name + ("[0]" if f.is_repeated else "") for f in self.path)

    def request(self, value: int) -> Message:
        message_class: Any = _message_class(self.method.input_type)
        request = message_class()
        inner = request
        for f in self.path[:-1]:
            inner = getattr(inner, f.name).add() if f.is_repeated else getattr(inner, f.name)
        setattr(inner, self.path[-1].name, value)
        if self.path[0].is_repeated and "request_id" in request.DESCRIPTOR.fields_by_name:
            # A bulk call (ReleasePayments, ImportBudgets): the call is well formed; its item
            # is not.
            request.request_id = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
        result: Message = request
        return result


def _message_class(d: descriptor.Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(d)


def _pence_paths(
    message: descriptor.Descriptor, seen: frozenset[str]
) -> Iterator[tuple[descriptor.FieldDescriptor, ...]]:
    for f in message.fields:
        if f.message_type is not None:
            name = f.message_type.full_name
            if name.startswith("google.") or name in seen:
                continue
            for rest in _pence_paths(f.message_type, seen | {name}):
                yield (f, *rest)
        elif f.name.endswith("_pence") or "amount" in f.name or "balance" in f.name:
            assert f.type == INT64, f"{message.full_name}.{f.name}: money is int64 pence"
            yield (f,)


def pence_fields() -> list[PenceField]:
    found = []
    for module, spec in SERVICES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                request = method.input_type
                for path in _pence_paths(request, frozenset({request.full_name})):
                    found.append(PenceField(spec, service.full_name, method, path))
    return found


FIELDS = pence_fields()


def test_the_descriptors_give_every_amount_field() -> None:
    names = {f"{f.method.name}.{f.name}" for f in FIELDS}
    assert "OffsetAccumulatedFunds.unused_balance_pence" in names
    assert "ReleasePayments.payments[0].amount_pence" in names
    assert "ReviseBudget.add_lines[0].cost_per_occurrence_pence" in names
    assert "SetCommissionerAllocation.allocation_pence" in names
    assert len(names) == len(FIELDS) >= 16


INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT.value[0]


def _refusal(error: grpc.aio.AioRpcError) -> tuple[int, list[str]]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    code: int = error.code().value[0]
    return code, fields


async def _call(channel: grpc.aio.Channel, f: PenceField, value: int) -> tuple[int, list[str]]:
    """(the refusal's status code, its BadRequest fields)."""
    response_class: Any = _message_class(f.method.output_type)
    call = channel.unary_unary(
        f"/{f.service}/{f.method.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    try:
        response = await call(f.request(value))
    except grpc.aio.AioRpcError as error:
        return _refusal(error)
    # A bulk call answers each item: its error is the item's refusal.
    errors = [r.error for r in getattr(response, "results", []) if r.HasField("error")]
    assert errors, f"{f.method.name} accepted {f.name}={value}"
    return errors[0].code, [v.field for v in errors[0].field_violations]


async def test_every_amount_over_the_bound_is_refused_naming_its_field(
    start_service: StartService,
) -> None:
    hosts = {}
    for spec in {id(f.spec): f.spec for f in FIELDS}.values():
        hosts[spec.name] = await start_service(spec)
    refused = []
    for f in FIELDS:
        async with open_aio_channel(hosts[f.spec.name].address) as channel:
            for value in OVER_BOUND:
                code, fields = await _call(channel, f, value)
                if code != INVALID_ARGUMENT or f.name not in fields:
                    refused.append(f"{f.method.name}.{f.name}={value}: {code} {fields}")
    assert refused == []


@pytest.mark.parametrize("value", [0, 1, PENCE_MAX])
def test_in_bound_values_pass_the_one_check(value: int) -> None:
    v = Violations()
    check_pence(value, "amount_pence", v, low=0)
    assert not v
    check_pence(value, "amount_pence", v)
    assert bool(v) == (value == 0)
