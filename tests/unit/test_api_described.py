"""Every element of the API is described (issue 16, "the integration partner's kit").

`buf lint` (COMMENTS rules, buf.yaml) checks the same in ./scripts/test; this test keeps the rule
in pytest too, with the protos' own descriptors, so a missing description fails wherever the
tests run. A leading comment is required: it is what docs/api.md, the generated stubs' docstrings
and buf read.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf import descriptor_pb2

from onebudget.shared.apidoc import descriptor_set

# FileDescriptorProto / DescriptorProto / EnumDescriptorProto / ServiceDescriptorProto field
# numbers, as source_code_info paths use them.
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM, _ONEOF = 2, 3, 4, 8
_VALUE, _METHOD = 2, 2


def _message(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], name: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    yield path, f"message {name}"
    for i, field in enumerate(message.field):
        yield (*path, _FIELD, i), f"field {name}.{field.name}"
    for i, oneof in enumerate(message.oneof_decl):
        yield (*path, _ONEOF, i), f"oneof {name}.{oneof.name}"
    for i, nested in enumerate(message.nested_type):
        if not nested.options.map_entry:
            yield from _message(nested, (*path, _NESTED, i), f"{name}.{nested.name}")
    for i, enum in enumerate(message.enum_type):
        yield from _enum(enum, (*path, _NESTED_ENUM, i), f"{name}.{enum.name}")


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], name: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    yield path, f"enum {name}"
    for i, value in enumerate(enum.value):
        yield (*path, _VALUE, i), f"enum value {name}.{value.name}"


def elements(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[tuple[int, ...], str]]:
    """Every service, RPC, message, field, oneof, enum and enum value of a file, by its path."""
    for i, service in enumerate(file.service):
        yield (_SERVICE, i), f"service {service.name}"
        for j, method in enumerate(service.method):
            yield (_SERVICE, i, _METHOD, j), f"rpc {service.name}.{method.name}"
    for i, message in enumerate(file.message_type):
        yield from _message(message, (_MESSAGE, i), message.name)
    for i, enum in enumerate(file.enum_type):
        yield from _enum(enum, (_ENUM, i), enum.name)


def undescribed(files: descriptor_pb2.FileDescriptorSet) -> list[str]:
    missing = []
    for file in files.file:
        if not file.package.startswith("onebudget."):
            continue
        described = {
            tuple(loc.path)
            for loc in file.source_code_info.location
            if loc.leading_comments.strip()
        }
        missing += [
            f"{file.name}: {what}" for path, what in elements(file) if path not in described
        ]
    return missing


def test_every_rpc_message_field_and_enum_value_has_a_leading_comment() -> None:
    files = descriptor_set()
    assert sum(1 for f in files.file if f.package.startswith("onebudget.")) >= 8
    missing = undescribed(files)
    assert not missing, "undescribed in protos/ (add a leading // comment):\n" + "\n".join(missing)


def test_a_field_without_a_comment_is_found() -> None:
    file = descriptor_pb2.FileDescriptorProto(name="x.proto", package="onebudget.x.v1")
    message = file.message_type.add(name="Thing")
    message.field.add(name="described_pence", number=1)
    message.field.add(name="bare", number=2)
    for path, text in (((4, 0), "A thing."), ((4, 0, 2, 0), "Pence.")):
        file.source_code_info.location.add(path=path, leading_comments=text)
    files = descriptor_pb2.FileDescriptorSet(file=[file])
    assert undescribed(files) == ["x.proto: field Thing.bare"]
