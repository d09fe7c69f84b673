"""Generate the Python gRPC stubs in ``kgrec/v1`` from ``protos/``, or check they are fresh.

Usage::

    python -m kgrec.protogen           # regenerate kgrec/v1/*_pb2*.py[i] from protos/
    python -m kgrec.protogen --check   # exit 1, naming the stale files, if they differ

Besides the stubs it writes ``kgrec/v1/descriptors.binpb``: a ``FileDescriptorSet`` of the
``.proto`` files *with* their source info (comments). The ``*_pb2`` modules carry descriptors
without comments, so server reflection serves this set instead and ``grpcurl describe`` shows
the field documentation (see ``server/reflection.py``).

The stubs and the set are committed so that an installed package imports them without a code
generator; the check (run by ``tests/test_protos.py``) keeps them in step with the ``.proto``
files.
Generation uses ``grpc_tools.protoc`` from the pinned ``grpcio-tools`` (pyproject dev extras),
so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

#: The repository root: ``protos/`` and the ``kgrec`` package live under it.
ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "protos"
#: protoc writes ``<package path>/<name>_pb2*.py[i]`` under the output root.
OUT_ROOT = ROOT
#: The descriptor set with source info, relative to the output root (package data).
DESCRIPTOR_SET = Path("kgrec") / "v1" / "descriptors.binpb"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", DESCRIPTOR_SET.name)


def proto_files(proto_dir: Path | None = None) -> list[Path]:
    """Every ``.proto`` file under ``proto_dir`` (default ``protos/``), relative to it, sorted."""
    proto_dir = proto_dir or PROTO_DIR
    return sorted(p.relative_to(proto_dir) for p in proto_dir.rglob("*.proto"))


def generate(out_dir: Path, proto_dir: Path | None = None) -> list[Path]:
    """Run protoc over ``proto_dir`` into ``out_dir``; return the generated files (relative)."""
    from grpc_tools import protoc  # dev dependency: imported only when generating

    proto_dir = proto_dir or PROTO_DIR
    files = proto_files(proto_dir)
    if not files:
        raise FileNotFoundError(f"no .proto files under {proto_dir}")
    well_known = resources.files("grpc_tools") / "_proto"
    (out_dir / DESCRIPTOR_SET).parent.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={proto_dir}",
        f"--proto_path={well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--descriptor_set_out={out_dir / DESCRIPTOR_SET}",
        "--include_source_info",
        *(f.as_posix() for f in files),
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    return sorted(
        p.relative_to(out_dir)
        for p in out_dir.rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def stale_files(out_root: Path | None = None, proto_dir: Path | None = None) -> list[Path]:
    """Generated files that are missing or differ from a fresh generation (relative paths)."""
    out_root = out_root or OUT_ROOT
    with tempfile.TemporaryDirectory(prefix="kgrec-protogen-") as tmp:
        fresh_root = Path(tmp)
        stale = []
        for rel in generate(fresh_root, proto_dir):
            committed = out_root / rel
            if not committed.is_file() or not filecmp.cmp(
                fresh_root / rel, committed, shallow=False
            ):
                stale.append(rel)
        return stale


def write(out_root: Path | None = None, proto_dir: Path | None = None) -> list[Path]:
    """Regenerate the stubs in place; return the files written (relative)."""
    out_root = out_root or OUT_ROOT
    with tempfile.TemporaryDirectory(prefix="kgrec-protogen-") as tmp:
        fresh_root = Path(tmp)
        written = generate(fresh_root, proto_dir)
        for rel in written:
            target = out_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh_root / rel, target)
        return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kgrec.protogen", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 naming the generated files that are stale",
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            names = ", ".join(p.as_posix() for p in stale)
            print(f"stale generated files (run `python -m kgrec.protogen`): {names}")
            return 1
        print("generated stubs are up to date")
        return 0
    for rel in write():
        print(f"wrote {rel.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
