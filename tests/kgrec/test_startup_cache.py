"""kgrec.startup_cache: built once, loaded after, rebuilt when the key or the code changes."""

from __future__ import annotations

import gc
import sys
import threading
import types
from pathlib import Path

import pytest

from kgrec.startup_cache import (
    file_lock,
    fingerprint,
    load_or_build,
    paused_gc,
    running_gc,
    source_digest,
)


class Builds:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, list[int]]:
        self.calls += 1
        return {"value": [self.calls]}


def test_built_once_then_loaded(tmp_path: Path) -> None:
    build = Builds()
    first = load_or_build(tmp_path, "thing", ("k",), build)
    again = load_or_build(tmp_path, "thing", ("k",), build)
    assert build.calls == 1
    assert again == first == {"value": [1]}
    assert len(list(tmp_path.glob("thing-*.pickle"))) == 1


def test_a_new_key_rebuilds_and_drops_the_old_file(tmp_path: Path) -> None:
    build = Builds()
    load_or_build(tmp_path, "thing", ("old lexicon",), build)
    old = set(tmp_path.glob("thing-*.pickle"))
    assert load_or_build(tmp_path, "thing", ("new lexicon",), build) == {"value": [2]}
    new = set(tmp_path.glob("thing-*.pickle"))
    assert len(new) == 1 and new.isdisjoint(old)
    load_or_build(tmp_path, "other", ("old lexicon",), build)  # other names are kept
    assert len(list(tmp_path.glob("*.pickle"))) == 2


def test_no_cache_dir_builds_every_time(tmp_path: Path) -> None:
    build = Builds()
    load_or_build(None, "thing", ("k",), build)
    load_or_build(None, "thing", ("k",), build)
    assert build.calls == 2


def test_an_unreadable_file_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    build = Builds()
    load_or_build(tmp_path, "thing", ("k",), build)
    (path,) = tmp_path.glob("thing-*.pickle")
    path.write_bytes(b"not a pickle")
    assert load_or_build(tmp_path, "thing", ("k",), build) == {"value": [2]}
    assert "building it again" in caplog.text
    assert load_or_build(tmp_path, "thing", ("k",), build) == {"value": [2]}  # saved again


def test_a_code_change_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "pkg" / "builder_mod.py"
    source.parent.mkdir()
    source.write_text("VERSION = 1\n")
    module = types.ModuleType("builder_mod")
    module.__file__ = str(source)
    monkeypatch.setitem(sys.modules, "builder_mod", module)
    cache = tmp_path / "cache"
    build = Builds()
    load_or_build(cache, "thing", ("k",), build, sources=("builder_mod",))
    load_or_build(cache, "thing", ("k",), build, sources=("builder_mod",))
    before = source_digest("builder_mod")
    source.write_text("VERSION = 2\n")
    assert source_digest("builder_mod") != before
    load_or_build(cache, "thing", ("k",), build, sources=("builder_mod",))
    assert build.calls == 2


def test_fingerprint_separates_fields_and_rows() -> None:
    assert fingerprint([("ab", "c")]) != fingerprint([("a", "bc")])
    assert fingerprint([("a",), ("b",)]) != fingerprint([("a", "b")])
    assert fingerprint([("a", "b")]) == fingerprint(iter([["a", "b"]]))


def test_the_gc_runs_again_when_the_last_paused_block_ends() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other_thread() -> None:
        with paused_gc():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=other_thread)
    with paused_gc():
        assert not gc.isenabled()
        worker.start()
        assert inside.wait(10)
        with paused_gc():
            with running_gc():  # a training inside a start-up collects as it goes
                assert gc.isenabled()
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's block still loads
    leave.set()
    worker.join(10)
    assert gc.isenabled()


def test_a_paused_block_leaves_a_disabled_gc_disabled() -> None:
    gc.disable()
    try:
        with paused_gc(), running_gc():
            assert not gc.isenabled()  # off before the block: stays off
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_lock_excludes_another_holder(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / ".x.lock"
    order: list[str] = []
    held = threading.Event()

    def other() -> None:
        held.wait(10)
        with file_lock(lock):  # its own open file: flock excludes it as another process
            order.append("other")

    thread = threading.Thread(target=other)
    thread.start()
    with file_lock(lock):
        held.set()
        thread.join(0.3)  # it cannot get in meanwhile
        order.append("first")
    thread.join(10)
    assert order == ["first", "other"]
