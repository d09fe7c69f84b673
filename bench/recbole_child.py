"""Trains and tests one RecBole model; runs INSIDE the RecBole venv (``bench/.venv-recbole``).

Started by :mod:`bench.recbole_runner` as::

    bench/.venv-recbole/bin/python -m bench.recbole_child --spec spec.json --out result.json

with the repo root on ``PYTHONPATH`` and a scratch folder as the working directory (RecBole
writes ``log/``, ``log_tensorboard/`` and checkpoints there). It mirrors RecBole 1.2.1's
``run_recbole`` (same seeding points, so results match a plain ``run_recbole`` call) and adds:

* timing around every ``Trainer._train_epoch`` / ``_valid_epoch`` call (training seconds per
  epoch exclude validation);
* the best epoch, taken from the checkpoint saves that early stopping triggers;
* a valid curve: at each validation, the epochs and optimizer steps done so far, their
  cumulative training seconds and the valid NDCG@10 (``bench.cost`` reads the steps and
  seconds to reach a valid NDCG from it);
* checks that RecBole loaded exactly the rows, users and items of the split;
* an independent re-evaluation of the best model on test with :mod:`bench.recbole_eval`
  against the original TSV files (same protocol, no RecBole code), reported as the largest
  absolute difference to RecBole's test metrics;
* for KGAT, two call-site shims so RecBole's old-DGL calls work with ``dgl==1.1.3``
  (monkeypatched in this process only; no installed file is touched).

Imports only the standard library, numpy, torch, RecBole (and dgl for KGAT) plus the two
pure modules :mod:`bench.recbole_atomic` and :mod:`bench.recbole_eval`.
"""

from __future__ import annotations

import os

# Must be set before torch is imported: RecBole 1.2.1 loads its checkpoints with a bare
# torch.load, which torch >= 2.6 refuses (weights_only default) for its pickled config.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
os.environ.setdefault("DGLBACKEND", "pytorch")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

__all__ = ["apply_dgl_shims", "main"]

logger = logging.getLogger(__name__)


def apply_dgl_shims() -> None:
    """Adapts the two old-DGL calls in RecBole's ``KGAT.init_graph`` to DGL 1.1.3.

    * ``dgl.edge_subgraph(g, e, preserve_nodes=True)`` -> ``relabel_nodes=False``
    * ``g.adjacency_matrix(transpose=False, scipy_fmt="coo")`` -> ``g.adj_external(...)``
      (in DGL 1.x ``adjacency_matrix`` returns a ``dgl.sparse`` matrix and takes no such
      arguments; ``adj_external`` has the old signature and meaning: rows are sources
      unless ``transpose``).
    """
    import dgl

    if getattr(dgl, "_kgrec_bench_shimmed", False):
        return
    orig_edge_subgraph = dgl.edge_subgraph
    orig_adjacency_matrix = dgl.DGLGraph.adjacency_matrix

    def edge_subgraph(graph, edges, *args, preserve_nodes=None, **kwargs):
        if preserve_nodes is not None:
            kwargs.setdefault("relabel_nodes", not preserve_nodes)
        return orig_edge_subgraph(graph, edges, *args, **kwargs)

    def adjacency_matrix(self, transpose=None, ctx=None, scipy_fmt=None, etype=None):
        if transpose is None and ctx is None and scipy_fmt is None:
            return orig_adjacency_matrix(self, etype)
        extra = {} if ctx is None else {"ctx": ctx}
        return self.adj_external(
            transpose=bool(transpose), scipy_fmt=scipy_fmt, etype=etype, **extra
        )

    dgl.edge_subgraph = edge_subgraph
    dgl.DGLGraph.adjacency_matrix = adjacency_matrix
    dgl._kgrec_bench_shimmed = True


class _TimeBudgetExceeded(Exception):
    """Raised at the start of a training epoch once the model's time budget is spent."""


class _EpochRecorder:
    """Wraps a RecBole trainer's epoch methods to time them and find the best epoch, and
    counts its optimizer's steps (every step, KGAT's knowledge-graph batches included).

    With ``budget_s``, the first training epoch that would start more than ``budget_s``
    seconds after :meth:`start` raises :class:`_TimeBudgetExceeded` instead (the best
    checkpoint so far is on disk by then).
    """

    def __init__(self, trainer: Any, budget_s: float | None = None) -> None:
        self.budget_s = budget_s
        self.deadline: float | None = None
        self.train_seconds: list[float] = []
        self.valid_seconds: list[float] = []
        self.valid_scores: list[float] = []
        self.saved_epochs: list[int] = []
        self.steps = 0
        #: one point per validation (``valid_metric`` is NDCG@10 in the runner's config)
        self.curve: list[dict[str, float]] = []
        train_epoch, valid_epoch = trainer._train_epoch, trainer._valid_epoch
        save_checkpoint = trainer._save_checkpoint

        def timed_train(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            if self.deadline is not None and t0 > self.deadline:
                raise _TimeBudgetExceeded
            out = train_epoch(*args, **kwargs)
            self.train_seconds.append(time.perf_counter() - t0)
            return out

        def timed_valid(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            score, result = valid_epoch(*args, **kwargs)
            self.valid_seconds.append(time.perf_counter() - t0)
            self.valid_scores.append(float(score))
            self.curve.append(
                {
                    "epoch": len(self.train_seconds),
                    "steps": self.steps,
                    "train_seconds": sum(self.train_seconds),
                    "valid_ndcg@10": float(score),
                }
            )
            return score, result

        def count_step(*_: Any) -> None:
            self.steps += 1

        def recorded_save(epoch: int, *args: Any, **kwargs: Any) -> Any:
            self.saved_epochs.append(int(epoch))
            return save_checkpoint(epoch, *args, **kwargs)

        trainer._train_epoch = timed_train
        trainer._valid_epoch = timed_valid
        trainer._save_checkpoint = recorded_save
        trainer.optimizer.register_step_post_hook(count_step)

    def start(self) -> None:
        if self.budget_s is not None:
            self.deadline = time.perf_counter() + self.budget_s


def _full_scores(model: Any, dataset: Any, device: Any, chunk: int = 64):
    """Scores of every user (rows, RecBole ids 1..) for every item (cols, ids 1..)."""
    import numpy as np
    import torch
    from recbole.data.interaction import Interaction

    model.eval()
    n_users, n_items = dataset.user_num, dataset.item_num
    rows = []
    with torch.no_grad():
        for start in range(1, n_users, chunk):
            users = torch.arange(start, min(start + chunk, n_users), dtype=torch.long)
            inter = Interaction({dataset.uid_field: users}).to(device)
            scores = model.full_sort_predict(inter).view(len(users), n_items)
            rows.append(scores[:, 1:].float().cpu().numpy())
    return np.concatenate(rows, axis=0)


def _independent_check(model, dataset, device, split_dir: Path, recbole_test: dict) -> dict:
    from bench.recbole_atomic import read_split
    from bench.recbole_eval import group_by_user, mean_over_users, per_user_full_ranking

    parts = read_split(split_dir)
    pairs = {p: [(u, i) for u, i, _r, _t in rows] for p, rows in parts.items()}
    user_tokens = [int(t) for t in dataset.field2id_token[dataset.uid_field][1:]]
    item_tokens = [int(t) for t in dataset.field2id_token[dataset.iid_field][1:]]
    universe = {i for rows in pairs.values() for _u, i in rows}
    scores = _full_scores(model, dataset, device)
    seen = group_by_user(pairs["train"] + pairs["valid"])
    per_user = per_user_full_ranking(
        scores, user_tokens, item_tokens, group_by_user(pairs["test"]), seen, ks=(5, 10, 20)
    )
    ours = mean_over_users(per_user)
    diffs = {k: abs(ours[k] - float(recbole_test[k])) for k in ours if k in recbole_test}
    return {
        "recbole_items_equal_split_universe": set(item_tokens) == universe,
        "n_recbole_items": len(item_tokens),
        "n_split_items": len(universe),
        "metrics": ours,
        "max_abs_diff_vs_recbole": max(diffs.values()) if diffs else None,
        "compared_metrics": len(diffs),
        # per test user (raw user id), for paired comparisons (bench.movielens_peers)
        "per_user": {
            key: {str(u): m[key] for u, m in sorted(per_user.items())}
            for key in ("ndcg@10", "recall@10")
        },
    }


_GENERAL_KEYS = (
    "seed",
    "epochs",
    "train_batch_size",
    "eval_batch_size",
    "learner",
    "learning_rate",
    "weight_decay",
    "train_neg_sample_args",
    "stopping_step",
    "eval_step",
    "eval_args",
    "metrics",
    "topk",
    "valid_metric",
    "benchmark_filename",
    "device",
)


def _effective_config(config: Any, model_name: str) -> dict:
    """The general training keys plus every key of the model's own default YAML, as used."""
    import recbole
    import yaml

    model_yaml = Path(recbole.__file__).parent / "properties" / "model" / f"{model_name}.yaml"
    model_keys = list((yaml.safe_load(model_yaml.read_text()) or {}).keys())
    out = {}
    for key in (*_GENERAL_KEYS, *model_keys):
        value = config[key]
        json_like = value is None or isinstance(value, (int, float, str, bool, list, dict))
        out[key] = value if json_like else str(value)
    return out


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def run(spec: dict) -> dict:
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    model_name = spec["model"]
    if model_name == "KGAT":
        apply_dgl_shims()

    config = Config(model=model_name, dataset=spec["dataset"], config_dict=spec["config"])
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)

    t0 = time.perf_counter()
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    data_seconds = time.perf_counter() - t0
    stats = {
        "rows": {
            "train": int(train_data._dataset.inter_num),
            "valid": int(valid_data._dataset.inter_num),
            "test": int(test_data._dataset.inter_num),
        },
        "users": int(dataset.user_num - 1),
        "items": int(dataset.item_num - 1),
    }
    if hasattr(dataset, "entity_num"):
        stats["entities"] = int(dataset.entity_num)
        stats["relations"] = int(dataset.relation_num)
        stats["kg_triples"] = int(len(dataset.kg_feat))

    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    recorder = _EpochRecorder(trainer, spec.get("time_budget_s"))

    t0 = time.perf_counter()
    recorder.start()
    stopped_by_budget = False
    try:
        best_valid_score, best_valid = trainer.fit(
            train_data, valid_data, saved=True, show_progress=False
        )
    except _TimeBudgetExceeded:
        stopped_by_budget = True
        best_valid_score, best_valid = trainer.best_valid_score, trainer.best_valid_result
        logger.warning(
            "time budget of %.0f s spent; testing the best epoch so far", recorder.budget_s
        )
    fit_seconds = time.perf_counter() - t0
    saved = [e for e in recorder.saved_epochs if e >= 0]
    t0 = time.perf_counter()
    test = trainer.evaluate(test_data, load_best_model=bool(saved), show_progress=False)
    test_seconds = time.perf_counter() - t0

    test = {k: float(v) for k, v in test.items()}
    epochs = len(recorder.train_seconds)
    if stopped_by_budget:
        stopped_by = "time_budget"
    elif epochs < int(config["epochs"]):
        stopped_by = "early_stopping"
    else:
        stopped_by = "epoch_cap"
    result = {
        "model": model_name,
        "test": test,
        "best_valid": {k: float(v) for k, v in (best_valid or {}).items()},
        "best_valid_score": float(best_valid_score),
        # Epochs counted from 1 (RecBole's log counts from 0).
        "best_epoch": saved[-1] + 1 if saved else None,
        "epochs": epochs,
        "epoch_cap": int(config["epochs"]),
        "stopped_early": stopped_by == "early_stopping",
        "stopped_by": stopped_by,
        "time_budget_s": recorder.budget_s,
        "sec_per_epoch": sum(recorder.train_seconds) / epochs if epochs else None,
        "valid_sec_per_epoch": (
            sum(recorder.valid_seconds) / len(recorder.valid_seconds)
            if recorder.valid_seconds
            else None
        ),
        "train_seconds": recorder.train_seconds,
        "valid_scores": recorder.valid_scores,
        "steps": recorder.steps,
        "valid_curve": recorder.curve,
        "fit_seconds": fit_seconds,
        "test_seconds": test_seconds,
        "data_seconds": data_seconds,
        "dataset": stats,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "torch_threads": _torch_threads(),
        "config_effective": _effective_config(config, model_name),
    }
    if spec.get("independent_check", True):
        result["independent_check"] = _independent_check(
            model, dataset, config["device"], Path(spec["split_dir"]), test
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="JSON spec from the runner")
    parser.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text())
    result = run(spec)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
