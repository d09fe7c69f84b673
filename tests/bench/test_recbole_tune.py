"""The RecBole peers' grid chosen on valid, their per-user figures, and how those figures pair
with kgrec's users (no RecBole venv needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.movielens_peers import recbole_rows  # noqa: E402
from bench.recbole_eval import evaluate_full_ranking, per_user_full_ranking  # noqa: E402
from bench.recbole_tune import (  # noqa: E402
    TUNE_GRIDS,
    choose,
    grid_points,
    point_label,
    tuned_entry,
)


def _run(valid: float | None, test: float = 0.0, status: str = "ok") -> dict:
    run: dict = {"status": status, "ndcg@10": test, "best_epoch": 3, "epochs": 9}
    if valid is not None:
        run["best_valid"] = {"ndcg@10": valid}
    return run


def test_per_user_figures_average_to_the_evaluator_s() -> None:
    items = [1, 2, 3]
    scores = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    relevant = {7: {1}, 8: {3}, 9: {2, 3}}
    per_user = per_user_full_ranking(scores, [7, 8, 9], items, relevant, {9: {3}}, ks=(1, 2))
    assert [per_user[u]["recall@1"] for u in (7, 8, 9)] == [1.0, 0.0, 0.5]  # 9: item 3 masked
    mean = evaluate_full_ranking(scores, [7, 8, 9], items, relevant, {9: {3}}, ks=(1, 2))
    for key, value in mean.items():
        assert value == pytest.approx(np.mean([per_user[u][key] for u in (7, 8, 9)]))


def test_grid_points_cover_the_grid_once() -> None:
    points = grid_points("LightGCN")
    sizes = [len(v) for v in TUNE_GRIDS["LightGCN"].values()]
    assert len(points) == int(np.prod(sizes))
    assert len({point_label(p) for p in points}) == len(points)
    assert {"learning_rate": 2e-3, "n_layers": 2, "reg_weight": 1e-5} in points  # the audit's
    assert point_label(points[0]) == "learning_rate=0.001,n_layers=2,reg_weight=1e-05"
    with pytest.raises(ValueError, match="LightGCN"):
        grid_points("NoSuchModel")


def test_choose_reads_valid_only_and_skips_runs_that_did_not_finish() -> None:
    runs = [
        _run(0.20, test=0.30),
        _run(None, status="failed"),
        _run(0.25, test=0.10),  # best on valid, worse on test: still chosen
        _run(0.25, test=0.40),  # a tie on valid: the first stays
        _run(0.99, status="timeout"),
    ]
    assert choose(runs) == 2
    assert choose([_run(None, status="failed")]) is None


def test_tuned_entry_is_the_chosen_run_with_every_point_listed() -> None:
    points = [{"learning_rate": 1e-3}, {"learning_rate": 1e-2}]
    entry = tuned_entry(points, [_run(0.1, test=0.5), _run(0.2, test=0.3)])
    assert entry["ndcg@10"] == 0.3 and entry["chosen"] == {"learning_rate": 1e-2}
    assert [g["valid_ndcg@10"] for g in entry["grid"]] == [0.1, 0.2]
    failed = tuned_entry(points, [_run(None, status="failed")] * 2)
    assert failed["status"] == "failed" and len(failed["grid"]) == 2


def test_recbole_rows_pair_each_user_with_kgrec_s_order() -> None:
    # kgrec's per-user arrays run over the test users by index, ascending; RecBole's json
    # keys its figures by the raw user id
    dataset = SimpleNamespace(user_ids=["10", "2", "33"], test=np.array([[2, 0], [0, 1], [2, 1]]))
    per_user = {"ndcg@10": {"33": 0.3, "10": 0.1, "2": 0.2}, "recall@10": {"33": 1, "10": 0}}
    per_user["recall@10"]["2"] = 0
    run = _run(0.2) | {"checks": {"independent_check": {"per_user": per_user}}}
    tuned = run | {"chosen": {"learning_rate": 2e-3}}
    rows = recbole_rows({"LightGCN": run, "LightGCN tuned": tuned, "BPR": _run(0.1)}, dataset)
    assert list(rows) == ["RecBole LightGCN", "RecBole LightGCN tuned"]  # BPR: no per-user
    assert rows["RecBole LightGCN"]["ndcg@10"].tolist() == [0.1, 0.3]  # users 0 ("10"), 2 ("33")
    assert rows["RecBole LightGCN"]["note"].startswith("defaults")
    assert rows["RecBole LightGCN tuned"]["note"].startswith("tuned learning_rate=0.002")
    del per_user["ndcg@10"]["33"]
    with pytest.raises(ValueError, match="33"):
        recbole_rows({"LightGCN": run}, dataset)
