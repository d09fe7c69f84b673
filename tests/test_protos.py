"""The committed stubs in ``kgrec/v1`` match a fresh generation from ``protos/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kgrec import protogen


def test_generated_stubs_are_fresh() -> None:
    stale = protogen.stale_files()
    assert stale == [], f"stale stubs, run `python -m kgrec.protogen`: {stale}"


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    # A copy of the committed stubs with one file edited must be reported as stale.
    out_root = tmp_path / "out"
    for rel in protogen.write(out_root):
        assert (out_root / rel).is_file()
    assert protogen.stale_files(out_root) == []
    edited = out_root / "kgrec" / "v1" / "recommender_pb2.pyi"
    edited.write_text(edited.read_text() + "\n# edited\n")
    (out_root / "kgrec" / "v1" / "recommender_pb2_grpc.py").unlink()
    stale = {p.as_posix() for p in protogen.stale_files(out_root)}
    assert stale == {"kgrec/v1/recommender_pb2.pyi", "kgrec/v1/recommender_pb2_grpc.py"}


def test_check_cli_exit_code_follows_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proto_dir = tmp_path / "protos"
    shutil.copytree(protogen.PROTO_DIR, proto_dir)
    out_root = tmp_path / "out"
    protogen.write(out_root, proto_dir)
    monkeypatch.setattr(protogen, "PROTO_DIR", proto_dir)
    monkeypatch.setattr(protogen, "OUT_ROOT", out_root)
    assert protogen.main(["--check"]) == 0
    proto = proto_dir / "kgrec" / "v1" / "recommender.proto"
    proto.write_text(proto.read_text() + "\nmessage Extra {\n  string x = 1;\n}\n")
    assert protogen.main(["--check"]) == 1
    assert "kgrec/v1/recommender_pb2.py" in capsys.readouterr().out


def test_stubs_import_from_the_package() -> None:
    from kgrec.v1 import recommender_pb2, recommender_pb2_grpc

    assert recommender_pb2.DESCRIPTOR.package == "kgrec.v1"
    assert hasattr(recommender_pb2_grpc, "RecommenderServiceStub")
    service = recommender_pb2.DESCRIPTOR.services_by_name["RecommenderService"]
    assert [m.name for m in service.methods] == ["Recommend", "Feedback", "RecommendStream"]


def _comments(descriptor_set: bytes) -> dict[str, str]:
    """Leading comment of every message field, by ``Message.field``, from a descriptor set."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file
    (proto,) = [f for f in files if f.name == "kgrec/v1/recommender.proto"]
    out = {}
    for loc in proto.source_code_info.location:
        # path [4, m, 2, f]: message_type[m].field[f]
        if len(loc.path) == 4 and loc.path[0] == 4 and loc.path[2] == 2:
            message = proto.message_type[loc.path[1]]
            out[f"{message.name}.{message.field[loc.path[3]].name}"] = loc.leading_comments
    return out


def test_descriptor_set_carries_the_field_comments() -> None:
    comments = _comments((protogen.OUT_ROOT / protogen.DESCRIPTOR_SET).read_bytes())
    assert "Unset: true" in comments["RecommendRequest.explain"]
    assert '"cat:shoes"' in comments["Filters.category_ids"]


def test_a_comment_only_change_makes_just_the_descriptor_set_stale(tmp_path: Path) -> None:
    # The *_pb2 modules carry no comments: only the descriptor set sees this edit.
    proto_dir = tmp_path / "protos"
    shutil.copytree(protogen.PROTO_DIR, proto_dir)
    out_root = tmp_path / "out"
    protogen.write(out_root, proto_dir)
    proto = proto_dir / "kgrec" / "v1" / "recommender.proto"
    text = proto.read_text()
    assert text.count("// The item's title.") == 1
    proto.write_text(text.replace("// The item's title.", "// The item's display title."))
    stale = [p.as_posix() for p in protogen.stale_files(out_root, proto_dir)]
    assert stale == [protogen.DESCRIPTOR_SET.as_posix()]
