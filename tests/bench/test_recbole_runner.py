"""Fast tests for the pure-Python parts of the RecBole runner (no RecBole venv needed)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.recbole_atomic import INTER_HEADER, read_split, write_atomic_dataset  # noqa: E402
from bench.recbole_eval import evaluate_full_ranking, group_by_user  # noqa: E402
from bench.recbole_runner import build_config, format_table  # noqa: E402
from bench.recbole_venv import RecboleVenv  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"

SPLIT = {
    "train": [(1, 10, 5, 100), (1, 11, 4, 101), (2, 12, 5, 102), (2, 10, 4, 103)],
    "valid": [(1, 12, 4, 104), (2, 13, 5, 105)],
    "test": [(1, 14, 5, 106), (2, 11, 4, 107)],
}


def _write_split(folder: Path, parts: dict = SPLIT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part, rows in parts.items():
        body = "".join("\t".join(map(str, r)) + "\n" for r in rows)
        (folder / f"{part}.tsv").write_text("user_id\titem_id\trating\ttimestamp\n" + body)
    return folder


def _write_kg(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ml-100k.kg").write_text(
        "head_id:token\trelation_id:token\ttail_id:token\nm.a\tfilm.genre\tm.x\nm.b\tfilm.genre\tm.x\n"
    )
    (folder / "ml-100k.link").write_text(
        "item_id:token\tentity_id:token\n10\tm.a\n99\tm.z\n14\tm.b\n"
    )
    return folder


def test_atomic_files_keep_rows_order_and_drop_unused_links(tmp_path: Path) -> None:
    split = _write_split(tmp_path / "split")
    kg = _write_kg(tmp_path / "kg")
    summary = write_atomic_dataset(split, tmp_path / "out", kg_dir=kg, name="tiny")

    folder = tmp_path / "out" / "tiny"
    for part, rows in SPLIT.items():
        lines = (folder / f"tiny.{part}.inter").read_text().splitlines()
        assert lines[0] == INTER_HEADER
        assert [tuple(map(int, ln.split("\t"))) for ln in lines[1:]] == rows
    assert summary.rows == {"train": 4, "valid": 2, "test": 2}
    assert (summary.users, summary.items) == (2, 5)
    assert (folder / "tiny.kg").read_bytes() == (kg / "ml-100k.kg").read_bytes()
    assert summary.kg_rows == 2
    link = (folder / "tiny.link").read_text().splitlines()
    assert link == ["item_id:token\tentity_id:token", "10\tm.a", "14\tm.b"]
    assert (summary.link_rows_kept, summary.link_rows_dropped) == (2, 1)
    assert summary.data_path == tmp_path / "out"


def test_atomic_files_without_kg(tmp_path: Path) -> None:
    summary = write_atomic_dataset(_write_split(tmp_path / "s"), tmp_path / "o", name="t")
    assert not (tmp_path / "o" / "t" / "t.kg").exists()
    assert summary.kg_rows == summary.link_rows_kept == 0


def test_dataset_name_ml_100k_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="data_path"):
        write_atomic_dataset(_write_split(tmp_path / "s"), tmp_path / "o", name="ml-100k")


def test_read_split_rejects_a_pair_in_two_parts(tmp_path: Path) -> None:
    parts = {**SPLIT, "test": [*SPLIT["test"], (1, 10, 5, 1)]}
    with pytest.raises(ValueError, match=r"pair \(1, 10\) already in train"):
        read_split(_write_split(tmp_path, parts))


def test_read_split_rejects_bad_header(tmp_path: Path) -> None:
    _write_split(tmp_path)
    (tmp_path / "valid.tsv").write_text("user\titem\n1\t2\n")
    with pytest.raises(ValueError, match="header"):
        read_split(tmp_path)


def test_evaluator_matches_hand_computed_values() -> None:
    items = [10, 11, 12, 13, 14, 15]
    # user 1: item 10 seen (masked although it scores highest); ranking 13, 11, 15, 12, 14
    # relevant {11, 14} -> hits at ranks 2 and 5.
    scores = np.array([[9.0, 5.0, 2.0, 6.0, 1.0, 3.0]])
    out = evaluate_full_ranking(scores, [1], items, {1: {11, 14}}, {1: {10}}, ks=(1, 2, 5))
    assert out["hit@1"] == 0.0
    assert out["recall@2"] == pytest.approx(0.5)
    assert out["precision@2"] == pytest.approx(0.5)
    assert out["precision@5"] == pytest.approx(2 / 5)
    assert out["mrr@5"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3)
    assert out["ndcg@5"] == pytest.approx(dcg / idcg)
    assert out["ndcg@2"] == pytest.approx((1 / math.log2(3)) / idcg)


def test_evaluator_averages_over_users_and_checks_inputs() -> None:
    items = [1, 2, 3]
    scores = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])
    out = evaluate_full_ranking(scores, [7, 8], items, {7: {1}, 8: {3}}, {}, ks=(1,))
    assert out["recall@1"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="not in the item universe"):
        evaluate_full_ranking(scores, [7, 8], items, {7: {4}}, {}, ks=(1,))
    with pytest.raises(ValueError, match="no score row"):
        evaluate_full_ranking(scores, [7, 8], items, {9: {1}}, {}, ks=(1,))


def test_group_by_user() -> None:
    assert group_by_user([(1, 2), (1, 3), (2, 2)]) == {1: {2, 3}, 2: {2}}


@pytest.mark.parametrize(
    ("model", "has_kg"), [("BPR", False), ("LightGCN", False), ("KGCN", True), ("KGAT", True)]
)
def test_build_config(tmp_path: Path, model: str, has_kg: bool) -> None:
    summary = write_atomic_dataset(_write_split(tmp_path / "s"), tmp_path / "o", name="t")
    cfg = build_config(model, summary, tmp_path / "ckpt", epochs=7)
    assert cfg["benchmark_filename"] == ["train", "valid", "test"]
    assert cfg["eval_args"]["mode"] == "full"
    assert cfg["valid_metric"] == "NDCG@10"
    assert (cfg["epochs"], cfg["embedding_size"], cfg["train_batch_size"]) == (7, 64, 2048)
    assert ("kg" in cfg["load_col"], "link" in cfg["load_col"]) == (has_kg, has_kg)
    assert "learning_rate" not in cfg  # RecBole's default is kept
    assert cfg["data_path"] == str(tmp_path / "o")


def test_format_table_marks_capped_and_failed_runs() -> None:
    ok = {f"{m}@{k}": 0.1234 for m in ("recall", "ndcg", "precision") for k in (5, 10, 20)}
    run = {"status": "ok", **ok, "best_epoch": 3, "epochs": 5, "sec_per_epoch": 0.5}
    res = {
        "BPR": {**run, "stopped_by": "epoch_cap"},
        "KGCN": {**run, "stopped_by": "early_stopping"},
        "LightGCN": {**run, "stopped_by": "time_budget"},
        "KGAT": {"status": "timeout"},
    }
    table = format_table(res).splitlines()
    assert table[2].split() == ["BPR", *(["0.1234"] * 7), "3/5*", "0.50"]
    assert table[3].split()[-2:] == ["3/5", "0.50"]
    assert table[4].split()[-2] == "3/5!"
    assert table[5].split()[0] == "KGAT" and "timeout" in table[5]


def test_venv_installs_torch_first_and_skips_stamped_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = RecboleVenv(tmp_path / "v", with_dgl=False)
    assert [s.name for s in venv.steps()] == ["torch", "recbole", "pins"]
    assert [s.name for s in RecboleVenv(tmp_path / "v").steps()][-1] == "dgl"
    (tmp_path / "v" / "bin").mkdir(parents=True)
    venv.python.write_text("")
    for step in venv.steps():
        (tmp_path / "v" / f".stamp-{step.name}").write_text("done\n")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"nothing should run, got {args}")

    monkeypatch.setattr("bench.recbole_venv.subprocess.run", refuse)
    assert venv.is_ready()
    assert venv.ensure() == {}


@pytest.mark.data
@pytest.mark.skipif(not (SHARED / "movielens-100k-split").exists(), reason="no ../shared/data")
def test_real_split_matches_readme_counts(tmp_path: Path) -> None:
    summary = write_atomic_dataset(
        SHARED / "movielens-100k-split",
        tmp_path,
        kg_dir=SHARED / "movielens-100k-kg" / "recbole_ml-100k",
    )
    assert summary.rows == {"train": 44191, "valid": 5585, "test": 5585}
    assert (summary.users, summary.items) == (938, 1447)
    assert (summary.kg_rows, summary.link_rows_dropped) == (91631, 222)


def test_epoch_caps_defaults_global_and_per_model() -> None:
    from bench.recbole_runner import DEFAULT_EPOCH_CAPS, MODELS, _epoch_caps

    assert set(DEFAULT_EPOCH_CAPS) == set(MODELS)
    assert _epoch_caps(None, []) == DEFAULT_EPOCH_CAPS
    caps = _epoch_caps(2, ["KGAT=5"])
    assert caps == {"BPR": 2, "LightGCN": 2, "KGCN": 2, "KGAT": 5}
    with pytest.raises(SystemExit, match="MODEL=N"):
        _epoch_caps(None, ["NoSuchModel=3"])


def test_epoch_recorder_counts_steps_and_records_the_valid_curve() -> None:
    import torch

    from bench.recbole_child import _EpochRecorder

    class Trainer:  # the three methods the recorder wraps, and an optimizer
        def __init__(self) -> None:
            self.weight = torch.nn.Parameter(torch.zeros(1))
            self.optimizer = torch.optim.SGD([self.weight], lr=0.1)
            self.scores = iter([0.1, 0.3])

        def _train_epoch(self, batches: int) -> None:
            for _ in range(batches):
                self.optimizer.zero_grad()
                (self.weight - 1).pow(2).sum().backward()
                self.optimizer.step()

        def _valid_epoch(self) -> tuple[float, dict]:
            return next(self.scores), {}

        def _save_checkpoint(self, epoch: int) -> None:
            pass

    trainer = Trainer()
    recorder = _EpochRecorder(trainer)
    trainer._train_epoch(3)
    trainer._train_epoch(3)
    trainer._valid_epoch()
    trainer._train_epoch(2)
    trainer._valid_epoch()
    assert recorder.steps == 8
    assert [(p["epoch"], p["steps"], p["valid_ndcg@10"]) for p in recorder.curve] == [
        (2, 6, 0.1),
        (3, 8, 0.3),
    ]
    assert recorder.curve[1]["train_seconds"] == pytest.approx(sum(recorder.train_seconds))
