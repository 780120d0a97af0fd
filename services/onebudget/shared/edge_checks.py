"""What every request must be before any handler sees it, whatever the RPC (issue 15: "input that
the edge lets through").

The gRPC edge runs these checks on every request of every service, so a handler (and a batch the
request would join) only ever sees a message that:
- decoded: bytes that are not the request message become INVALID_ARGUMENT (grpc answered
  INTERNAL, naming a Python exception class);
- has no control characters in any string (a NUL byte failed 87 other people's payments that
  shared its batch's transaction): C0 controls and DEL are refused, except tab, line feed and
  carriage return, which free text may hold;
- has no string longer than STRING_LENGTH_MAX characters (services set tighter limits per
  field; this is the bound for every field, nested and repeated ones included);
- names only enum values its contract defines (proto3 lets any number through: `kind: 99`).
Each service's own validation then checks what a field means (ids, dates, pence, codes).

Each message type's check is made once and reads its string, enum and message fields directly;
strings are joined and searched once, and only a request with a fault is walked field by field
to name it.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from onebudget.shared.errors import FieldViolation, InvalidArgument

STRING_LENGTH_MAX = 10_000
VIOLATIONS_MAX = 20  # per answer: a request with 1,000 bad ids gets 20 and a count of the rest
DESCRIPTION_LENGTH_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Undecodable:
    """What the edge's deserializer hands on when the bytes are not the request message."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def safe_deserializer(deserialize: Any) -> Any:
    """`deserialize` (a message class's FromString), answering `Undecodable` instead of raising,
    so the edge can refuse the request as INVALID_ARGUMENT rather than grpc's INTERNAL."""
    type_name = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = type_name.full_name if type_name is not None else "request"

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except (DecodeError, ValueError, TypeError, RuntimeError):
            return Undecodable(name)

    return decode


def check_request(request: object) -> None:
    """Raise InvalidArgument (reason INVALID_REQUEST) listing the request's faults, if any."""
    if isinstance(request, Undecodable):
        raise InvalidArgument(
            reason="INVALID_REQUEST",
            message="the request is not a valid message of its type",
            metadata={"type": request.type_name},
            violations=(FieldViolation("", f"not a valid {request.type_name} message"),),
        )
    if not isinstance(request, Message):
        return
    found: list[FieldViolation] = []
    _walk(request, "", found)
    if found:
        raise InvalidArgument(
            reason="INVALID_REQUEST",
            message="the request has fields no OneBudget API accepts",
            violations=bounded_violations(found),
        )


def bounded_violations(found: list[FieldViolation]) -> tuple[FieldViolation, ...]:
    """At most VIOLATIONS_MAX violations, each description at most DESCRIPTION_LENGTH_MAX
    characters, and one more saying how many were left out: an error's details stay far below
    gRPC's 16 KB trailer limit (a 45 KB trailer broke the call)."""
    kept = [
        FieldViolation(v.field[:DESCRIPTION_LENGTH_MAX], v.description[:DESCRIPTION_LENGTH_MAX])
        for v in found[:VIOLATIONS_MAX]
    ]
    if len(found) > VIOLATIONS_MAX:
        kept.append(FieldViolation("", f"more faults than these {VIOLATIONS_MAX} not listed"))
    return tuple(kept)


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    if not _checks(message.DESCRIPTOR).ok(message):
        _name_faults(message, prefix, found)


class _TypeCheck:
    """The check of one message type, made once: which of its fields are strings, enums and
    messages. `ok` is the fast path every request takes (strings joined and searched once, no
    field paths built); only a message it refuses is walked again to name the faults."""

    __slots__ = ("enums", "messages", "string_lists", "strings")

    def __init__(self, descriptor: Descriptor) -> None:
        self.strings: list[str] = []
        self.string_lists: list[str] = []
        self.enums: list[tuple[str, frozenset[int], str, bool]] = []
        self.messages: list[tuple[str, Descriptor, bool]] = []
        for field in descriptor.fields:
            if field.type == FieldDescriptor.TYPE_STRING:
                (self.string_lists if field.is_repeated else self.strings).append(field.name)
            elif field.type == FieldDescriptor.TYPE_ENUM:
                enum = field.enum_type
                assert enum is not None
                numbers = frozenset(v.number for v in enum.values)
                self.enums.append((field.name, numbers, enum.name, field.is_repeated))
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                sub = field.message_type
                assert sub is not None
                assert not sub.GetOptions().map_entry, "no request of ours has a map field"
                self.messages.append((field.name, sub, field.is_repeated))

    def ok(self, message: Message) -> bool:
        if self.strings or self.string_lists:
            values = [getattr(message, name) for name in self.strings]
            for name in self.string_lists:
                values.extend(getattr(message, name))
            joined = "".join(values)
            if _CONTROL.search(joined):
                return False
            if len(joined) > STRING_LENGTH_MAX and max(map(len, values)) > STRING_LENGTH_MAX:
                return False
        for name, numbers, _enum, repeated in self.enums:
            if repeated:
                if not numbers.issuperset(getattr(message, name)):
                    return False
            elif getattr(message, name) not in numbers:
                return False
        for name, sub, repeated in self.messages:
            sub_ok = _checks(sub).ok
            if repeated:
                if not all(map(sub_ok, getattr(message, name))):
                    return False
            elif message.HasField(name) and not sub_ok(getattr(message, name)):
                return False
        return True


_CHECKS: dict[str, _TypeCheck] = {}


def _checks(descriptor: Any) -> _TypeCheck:
    known = _CHECKS.get(descriptor.full_name)
    if known is None:
        known = _CHECKS[descriptor.full_name] = _TypeCheck(descriptor)
    return known


def _name_faults(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    """The slow path, for a message `ok` refused: every fault with its field path."""
    check = _checks(message.DESCRIPTOR)
    named = [(f"{prefix}{name}", getattr(message, name)) for name in check.strings]
    for name in check.string_lists:
        named += [(f"{prefix}{name}[{i}]", v) for i, v in enumerate(getattr(message, name))]
    for path, value in named:
        if len(value) > STRING_LENGTH_MAX:
            found.append(FieldViolation(path, f"at most {STRING_LENGTH_MAX} characters"))
        elif _CONTROL.search(value):
            found.append(FieldViolation(path, "must not contain control characters"))
    for name, numbers, enum_name, repeated in check.enums:
        items = getattr(message, name) if repeated else (getattr(message, name),)
        for index, number in enumerate(items):
            if number not in numbers:
                path = f"{prefix}{name}[{index}]" if repeated else f"{prefix}{name}"
                found.append(FieldViolation(path, f"{number} is not a value of {enum_name}"))
    for name, _sub, repeated in check.messages:
        if repeated:
            for index, item in enumerate(getattr(message, name)):
                if len(found) > VIOLATIONS_MAX:
                    return
                _walk(item, f"{prefix}{name}[{index}].", found)
        elif message.HasField(name):
            _walk(getattr(message, name), f"{prefix}{name}.", found)
