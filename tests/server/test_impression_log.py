"""The impression log's writer (server/impression_log.py): never blocks a turn, writes
everything queued on close, rotates files, and forgets a user."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from models.feedback.impressions import Impression, Outcome, read_log
from server.impression_log import (
    ImpressionLog,
    _locked,
    count_impressions,
    forget_impressions,
    impression_key,
)
from server.log import USER_REF_KEY_ENV, user_ref
from server.metrics import Metrics


def _impression(n: int, user: str) -> Impression:
    return Impression(
        request_id=f"r{n}", session_id=f"s{n % 3}", user=user, turn=1, ts=float(n),
        policy="off", model_version="v", explored=False, rate=0.0, pool=2,
        signals=("a", "b"), candidates=("p1", "p2"), features=((1.0, 0.0), (0.5, 0.5)),
        order=(0, 1), shown=(0, 1), propensities=(1.0, 1.0),
    )  # fmt: skip


def _count(metrics: Metrics, kind: str, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "kgrec_impression_records_total", {"kind": kind, "result": result}
    )
    return value or 0.0


def test_close_writes_out_everything_queued(tmp_path: Path) -> None:
    metrics = Metrics()
    log = ImpressionLog(tmp_path / "imp", metrics=metrics)
    user = log.user_key("alice")
    for n in range(300):
        assert log.write(_impression(n, user))
    assert log.write(Outcome("s0", user, "p1", "click", 0.0, 500.0))
    log.close()  # no flush first
    impressions, outcomes = read_log(tmp_path / "imp")
    assert [i.request_id for i in impressions] == [f"r{n}" for n in range(300)]
    assert impressions[7] == _impression(7, user)
    assert len(outcomes) == 1
    assert _count(metrics, "impression", "written") == 300
    assert _count(metrics, "outcome", "written") == 1
    assert not log.write(_impression(1, user))  # closed: dropped, counted
    assert log.dropped == 1 and _count(metrics, "impression", "dropped") == 1


def test_a_stalled_writer_never_blocks_a_turn(tmp_path: Path) -> None:
    """The disk is stuck (the folder's lock held): writes return at once, the overflow is
    dropped and counted, and what was queued is written once the disk is back."""
    metrics = Metrics()
    directory = tmp_path / "imp"
    directory.mkdir()
    log = ImpressionLog(directory, max_queue=10, batch=4, metrics=metrics)
    user = log.user_key("bob")
    released = threading.Event()

    def hold_lock() -> None:
        with _locked(directory):
            released.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    time.sleep(0.05)
    started = time.perf_counter()
    accepted = sum(log.write(_impression(n, user)) for n in range(200))
    took = time.perf_counter() - started
    assert took < 1.0, f"200 writes took {took:.2f} s"
    assert accepted <= 10 + 4  # the queue, plus one batch the thread took out
    assert log.dropped == 200 - accepted
    assert _count(metrics, "impression", "dropped") == 200 - accepted
    assert not log.flush(timeout=0.2)  # still stuck
    released.set()
    holder.join()
    assert log.flush()
    log.close()
    impressions, _ = read_log(directory)
    assert len(impressions) == accepted


def test_files_rotate_by_size_and_read_back_in_order(tmp_path: Path) -> None:
    log = ImpressionLog(tmp_path, max_file_bytes=2000, batch=5)
    user = log.user_key("carol")
    for n in range(60):
        log.write(_impression(n, user))
        if n % 5 == 4:
            log.flush()
    log.close()
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) > 3
    assert all(f.stat().st_size < 2000 + 5 * 600 for f in files)
    impressions, _ = read_log(tmp_path)
    assert [i.request_id for i in impressions] == [f"r{n}" for n in range(60)]


def test_forget_removes_one_users_records_only(tmp_path: Path) -> None:
    log = ImpressionLog(tmp_path, max_file_bytes=1500)
    alice, bob = log.user_key("alice"), log.user_key("bob")
    assert alice != bob and alice.startswith("u-") and "alice" not in alice
    for n in range(20):
        log.write(_impression(n, alice if n % 2 else bob))
        log.write(Outcome(f"s{n}", alice if n % 2 else bob, "p1", "click", 0.0, n + 0.5))
    # the running log's queue is written out before the rewrite
    assert log.forget("alice") == 20
    assert count_impressions(tmp_path, "alice") == 0
    assert count_impressions(tmp_path, "bob") == 20
    log.write(_impression(99, bob))
    log.close()
    impressions, outcomes = read_log(tmp_path)
    assert {i.user for i in impressions} == {bob} and len(impressions) == 11
    assert {o.user for o in outcomes} == {bob}
    # the text of every file: no trace of alice's hash
    assert all(alice not in f.read_text() for f in tmp_path.glob("*.jsonl"))
    # from another process's view (a fresh key lookup): nothing more to forget
    assert forget_impressions(tmp_path, "alice") == 0
    assert forget_impressions(tmp_path / "absent", "alice") == 0


def test_the_key_is_kept_with_the_log_or_taken_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(USER_REF_KEY_ENV, raising=False)
    assert impression_key(tmp_path) is None
    first = ImpressionLog(tmp_path).user_key("dave")
    assert (tmp_path / ".user_key").stat().st_mode & 0o077 == 0  # owner only
    assert ImpressionLog(tmp_path).user_key("dave") == first  # same after a restart
    assert ImpressionLog(tmp_path / "other").user_key("dave") != first
    assert ImpressionLog(tmp_path).user_key("") == "-"
    monkeypatch.setenv(USER_REF_KEY_ENV, "shared-secret")
    # with the server logs' key set, the same hash as their log lines
    assert ImpressionLog(tmp_path).user_key("dave") == user_ref("dave", b"shared-secret")


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    log = ImpressionLog(tmp_path)
    log.write(_impression(1, log.user_key("erin")))
    log.close()
    (path,) = tmp_path.glob("*.jsonl")
    with path.open("a") as fh:
        fh.write(json.dumps({"kind": "impression", "v": 1})[:20])
    impressions, _ = read_log(tmp_path)
    assert len(impressions) == 1


def test_the_setting_turns_the_log_off(tmp_path: Path) -> None:
    from server.impression_log import impression_log_for
    from server.settings import Settings

    assert impression_log_for(Settings(data_dir=tmp_path, impression_log=False)) is None
    log = impression_log_for(Settings(data_dir=tmp_path))
    assert log is not None and log.directory == tmp_path / "impressions"


def test_a_re_ranked_turn_is_logged_in_the_blend_order_with_the_policy_order(
    tmp_path: Path,
) -> None:
    """Candidates and signals in the blend's order (what a policy reads); ``order``: the
    re-ranker's (here only a prefix was re-ranked); ``shown``: candidate indices."""
    from kg.types import Candidate, ProductRecord, SessionRecord
    from kgrec.domain import RecommendQuery
    from models.dialogue import DialogueState
    from models.feedback.slate import Slate
    from models.scoring.blend import ScoredCandidate
    from server.turn import Turn

    a, b, c, d = (
        ScoredCandidate(Candidate(ProductRecord(id=i, title=i)), 0.0, {"popularity": p})
        for i, p in (("a", 0.4), ("b", 0.3), ("c", 0.2), ("d", 0.1))
    )
    turn = Turn(
        RecommendQuery(message="x", limit=2), SessionRecord("s1", "", 0.0, 0.0), DialogueState()
    )
    turn.blended, turn.ranked = [a, b, c, d], [c, a]
    turn.slate = Slate(order=(1, 0), propensities=(0.25, 0.25), explored=True, rate=0.5, pool=2)
    log = ImpressionLog(tmp_path)
    assert log.log_turn(turn, "linucb", 5.0)
    log.close()
    (imp,), _ = read_log(tmp_path)
    assert imp.candidates == ("a", "b", "c", "d") and imp.order == (2, 0, 1, 3)
    assert imp.shown == (0, 2) and imp.shown_ids == ("a", "c")
    assert [row[1] for row in imp.features] == [0.4, 0.3, 0.2, 0.1]  # popularity column
    assert imp.policy == "linucb" and imp.ts == 5.0 and imp.user == "-"
