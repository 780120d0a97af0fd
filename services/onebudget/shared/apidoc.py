"""Generate docs/api.md from the protos' own comments (`scripts/gen-protos` runs it too).

protoc writes a FileDescriptorSet with source info (the comments), and this module renders each
service's RPCs and each message's fields as markdown. The document is committed; a test fails
when it differs from what the protos say now, so the API reference never drifts from the API.
"""

from __future__ import annotations

import importlib.resources
import tempfile
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2

from onebudget.shared.codegen import PROJECT_ROOT, PROTO_ROOT, proto_files

API_DOC = PROJECT_ROOT / "docs" / "api.md"
_TYPE_NAMES = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in descriptor_pb2.FieldDescriptorProto.Type.items()
}


def descriptor_set(proto_root: Path = PROTO_ROOT) -> descriptor_pb2.FileDescriptorSet:
    from grpc_tools import protoc  # dev dependency

    include = str(importlib.resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(proto_root)) for p in proto_files(proto_root)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        args = [
            "protoc",
            f"-I{proto_root}",
            f"-I{include}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *files,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    found: dict[tuple[int, ...], str] = {}
    for location in file.source_code_info.location:
        text = location.leading_comments.strip() or location.trailing_comments.strip()
        if text:
            found[tuple(location.path)] = " ".join(line.strip() for line in text.splitlines())
    return found


def _field_type(field: descriptor_pb2.FieldDescriptorProto) -> str:
    name = field.type_name.rsplit(".", 1)[-1] if field.type_name else _TYPE_NAMES[field.type]
    repeated = field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    return f"repeated {name}" if repeated else name


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _file_sections(file: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    notes = _comments(file)
    yield f"## `{file.name}` (package `{file.package}`)\n"
    for s_index, service in enumerate(file.service):
        yield f"### service `{service.name}`\n"
        if text := notes.get((6, s_index)):
            yield f"{text}\n"
        yield "| RPC | request | response | what it does |\n|---|---|---|---|"
        for m_index, method in enumerate(service.method):
            doc = _cell(notes.get((6, s_index, 2, m_index), ""))
            request = method.input_type.rsplit(".", 1)[-1]
            response = method.output_type.rsplit(".", 1)[-1]
            yield f"| `{method.name}` | `{request}` | `{response}` | {doc} |"
        yield ""
    for e_index, enum in enumerate(file.enum_type):
        yield f"### enum `{enum.name}`\n"
        if text := notes.get((5, e_index)):
            yield f"{text}\n"
        yield "| value | number | meaning |\n|---|---|---|"
        for v_index, value in enumerate(enum.value):
            doc = _cell(notes.get((5, e_index, 2, v_index), ""))
            yield f"| `{value.name}` | {value.number} | {doc} |"
        yield ""
    for m_index, message in enumerate(file.message_type):
        yield from _message_section(message, (4, m_index), notes)


def _message_section(
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    notes: dict[tuple[int, ...], str],
) -> Iterator[str]:
    yield f"### message `{message.name}`\n"
    if text := notes.get(path):
        yield f"{text}\n"
    if message.field:
        yield "| field | type | meaning |\n|---|---|---|"
        for f_index, field in enumerate(message.field):
            doc = _cell(notes.get((*path, 2, f_index), ""))
            yield f"| `{field.name}` | `{_field_type(field)}` | {doc} |"
        yield ""
    for e_index, enum in enumerate(message.enum_type):
        values = ", ".join(f"`{v.name}`" for v in enum.value)
        yield f"Enum `{message.name}.{enum.name}`: {values}.\n"
        del e_index


def render(files: descriptor_pb2.FileDescriptorSet) -> str:
    ours = [f for f in files.file if f.package.startswith("onebudget.")]
    parts = [
        "# OneBudget API reference\n",
        "Generated from `protos/` by `scripts/gen-protos`; do not edit. Money is `int64` pence;"
        " dates are ISO `YYYY-MM-DD` strings; errors are `google.rpc.Status` with `ErrorInfo`"
        " (stable `reason`) and, for bad input, `BadRequest` field violations.\n",
    ]
    for file in sorted(ours, key=lambda f: (not f.service, f.name)):
        parts.extend(_file_sections(file))
    return "\n".join(parts).rstrip() + "\n"


def main() -> int:
    API_DOC.parent.mkdir(parents=True, exist_ok=True)
    API_DOC.write_text(render(descriptor_set()))
    print(API_DOC.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
