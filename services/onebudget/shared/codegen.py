"""Generate the protobuf and gRPC Python code from `protos/` (the one way it is made).

Output goes next to the services, `services/onebudget/<service>/v1/*_pb2*.py(i)`, so the import
path of a message equals its proto package. Generated files are committed (a fresh clone works
without grpcio-tools) and a test regenerates them into a temporary folder to prove they are not
stale. Never edit them by hand: change the .proto and run `scripts/gen-protos`.

The partners' client package (services/onebudget-client/, docs/adr/0019) ships its own copy of
the stubs it needs, under `onebudget_client.v1`, so it installs without the services: they are
made here too, from the same protoc output, with the one import line that names the package
rewritten. The copies are identical descriptors (same proto file names), so the two can share a
process.
"""

from __future__ import annotations

import argparse
import importlib.resources
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = PROJECT_ROOT / "protos"
OUTPUT_ROOT = PROJECT_ROOT / "services"
# The partners' client package: its source root under OUTPUT_ROOT, its stubs' package, and the
# protos (as protoc's output stems) whose stubs it ships.
CLIENT_SOURCE = Path("onebudget-client") / "src"
CLIENT_STUBS_PACKAGE = "onebudget_client.v1"
CLIENT_PROTOS = ("onebudget/payment/v1/payment_service",)


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(proto_root.rglob("*.proto"))


def generate(output_root: Path = OUTPUT_ROOT, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Run protoc over every proto; return the files written."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    include = str(importlib.resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(proto_root)) for p in proto_files(proto_root)]
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    written: list[Path] = []
    for proto in files:
        package_dir = output_root / Path(proto).parent
        _ensure_init_files(output_root, package_dir)
        stem = Path(proto).stem
        written += sorted(package_dir.glob(f"{stem}_pb2*.py*"))
    return written + _client_stubs(output_root)


def _client_stubs(output_root: Path) -> list[Path]:
    """Copy the client's stubs into its package, importing each other from there."""
    target = output_root / CLIENT_SOURCE / Path(*CLIENT_STUBS_PACKAGE.split("."))
    target.mkdir(parents=True, exist_ok=True)
    _ensure_init_files(output_root / CLIENT_SOURCE, target)
    written: list[Path] = []
    for stem in CLIENT_PROTOS:
        source = output_root / Path(stem).parent
        proto_package = stem.rsplit("/", 1)[0].replace("/", ".")
        for path in sorted(source.glob(f"{Path(stem).name}_pb2*.py*")):
            text = path.read_text().replace(
                f"from {proto_package} import ", f"from {CLIENT_STUBS_PACKAGE} import "
            )
            copy = target / path.name
            copy.write_text(text)
            written.append(copy)
    return written


def _ensure_init_files(output_root: Path, package_dir: Path) -> None:
    """Each generated folder is a regular package, so setuptools and mypy find it."""
    current = package_dir
    while current != output_root:
        init = current / "__init__.py"
        if not init.exists():
            init.write_text("")
        current = current.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUTPUT_ROOT)
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
