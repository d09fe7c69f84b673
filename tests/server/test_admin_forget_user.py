"""``kgrec admin forget-user``: after it, no event, session or profile vector of the user
remains, and nobody else's data changed. Real embedded graph in a data dir, a real (tiny)
checkpoint in its model dir, the command run in-process as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_checkpoint import save_tiny_checkpoint

import kg
from kg.embedded import GRAPH_SUBDIR
from kgrec.cli import main
from kgrec.domain import EventType, FeedbackEvent
from models.feedback.impressions import Outcome, read_log
from models.training.checkpoint import Checkpoint
from server.impression_log import ImpressionLog


def _populate(data_dir: Path) -> None:
    with kg.EmbeddedFalkorDB(data_dir / GRAPH_SUBDIR) as server:
        store = kg.open_store(server.uri, graph="kgrec")
        store.init_schema()
        store.upsert_products([{"id": f"p{i}", "title": f"Item {i}"} for i in range(4)])
        store.upsert_users([{"id": "alice", "name": "Alice A."}, {"id": "bob", "name": "Bob B."}])
        for i, (user, item, etype) in enumerate(
            [
                ("alice", "p0", EventType.PURCHASE),
                ("alice", "p1", EventType.CLICK),
                ("alice", "p2", EventType.DISMISS),
                ("bob", "p0", EventType.PURCHASE),
            ]
        ):
            store.record_event(FeedbackEvent(user, "", item, etype, 1.0), f"e{i}", 1.0)
        for sid, user in [("sa1", "alice"), ("sa2", "alice"), ("sb", "bob")]:
            store.create_session(sid, user, 1.0)
        store.close()
    log = ImpressionLog(data_dir / "impressions", max_file_bytes=200)  # several files
    for sid, user, item in [("sa1", "alice", "p0"), ("sb", "bob", "p0"), ("sa2", "alice", "p1")]:
        log.write(Outcome(sid, log.user_key(user), item, "click", 0.0, 2.0))
        log.flush()
    log.close()


def test_forget_user_deletes_everything_and_proves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _populate(tmp_path)
    for name in ("v1", "v2"):  # every checkpoint is cleaned, not only the newest
        save_tiny_checkpoint(tmp_path / "models" / name)

    assert main(["admin", "forget-user", "alice", "--data-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["deleted"] == {
        "events": 3, "sessions": 2, "users": 1, "profile_vectors": 2, "impressions": 2,
    }  # fmt: skip
    assert report["remaining"] == {
        "events": 0, "sessions": 0, "users": 0, "profile_vectors": 0, "impressions": 0,
    }  # fmt: skip
    assert report["complete"] is True
    # bob's impression-log record is still there, alice's are gone
    _, outcomes = read_log(tmp_path / "impressions")
    assert [o.session_id for o in outcomes] == ["sb"]

    # look again, independently of the command
    with kg.EmbeddedFalkorDB(tmp_path / GRAPH_SUBDIR) as server:
        store = kg.open_store(server.uri, graph="kgrec")
        assert store.user_events("alice") == [] and store.get_session("sa1") is None
        assert store.user_data_counts("alice") == kg.UserDataCounts()
        assert [e.event_id for e in store.user_events("bob")] == ["e3"]
        assert store.get_session("sb") is not None
        assert store.products(["p0"])[0].popularity == 1.0  # only bob's purchase counts now
        assert isinstance(store, kg.FalkorDBStore)
        assert store._read("MATCH (u:User) RETURN u.name") == [["Bob B."]]
        store.close()
    for name in ("v1", "v2"):
        ckpt = Checkpoint.load(tmp_path / "models" / name)
        assert ckpt.user_ids == ["bob", "forgotten:1"]
        assert ckpt.tensors["users"][1].abs().sum() == 0 and ckpt.tensors["users"][0].sum() == 4
        assert ckpt.state_dict["user_emb.weight"][1].abs().sum() == 0
        assert ckpt.state_dict["item_emb.weight"].sum() == 8  # items untouched
        assert ckpt.tensors["seen"].tolist() == [[0, 0]]

    # again: nothing left to delete, still complete
    assert main(["admin", "forget-user", "alice", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "deleted:   0 events, 0 sessions, 0 user nodes, 0 profile vectors, 0 impr" in out
    assert "remaining: 0 events, 0 sessions, 0 user nodes, 0 profile vectors, 0 impr" in out
