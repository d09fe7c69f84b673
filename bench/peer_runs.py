"""Shared steps of the peer and cold-start benchmarks: per-user evaluation of a score matrix,
EASE^R's lambda chosen on valid, one kgrec run through the product trainer, and the table.

Every ranker is evaluated by ``models.metrics.full_ranking_user_metrics`` on the same pairs
with the same excluded items, so per-user values pair row by row (``bench.paired``).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.paired import paired_bootstrap
from bench.peers import ease, popularity, text_knn

logger = logging.getLogger(__name__)

__all__ = [
    "EASE_GRID",
    "choose_ease",
    "evaluate_sides",
    "kgrec_rows",
    "load_movielens_data",
    "peer_rows",
    "run_kgrec",
    "seeded_subset",
    "seeds_for",
    "table",
    "text_vectors",
]

#: EASE^R's L2 weights tried on valid (the audit's choice, 300, is inside)
EASE_GRID = (50.0, 100.0, 200.0, 300.0, 500.0, 1000.0)
KS = (5, 10, 20)


def add_run_arguments(
    parser: argparse.ArgumentParser, *, model_dir: Path, out: Path, data: Path
) -> None:
    """The options every kgrec-against-peers command shares: the data, kgrec's seeds and
    variants, where its checkpoints and the run json go, torch threads, ``--reuse``."""
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--seeds", type=int, default=3, help="kgrec training seeds (default 3)")
    parser.add_argument("--variants", default="kgrec", help="comma list of bench.movielens runs")
    parser.add_argument("--model-dir", type=Path, default=model_dir)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="no training: kgrec runs from json")
    parser.add_argument("--out", type=Path, default=out)


def load_movielens_data(data: Path) -> Any:
    """The fixed ML-100K split with KG, text and posters, as ``bench.movielens`` loads it."""
    from models.cli import load_dataset

    ns = argparse.Namespace(data=data, split_dir=None, kg_dir=None, side_dir=None)
    return load_dataset(ns)


def evaluate_sides(
    sides: tuple[np.ndarray, np.ndarray], eval_pairs: np.ndarray, seen: list[np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-user full-ranking metrics of the scores ``sides[0] @ sides[1].T``."""
    from models.metrics import full_ranking_user_metrics

    users, items = (torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32)) for s in sides)
    return full_ranking_user_metrics(users, items, eval_pairs, seen, KS)


def choose_ease(
    dataset: Any, grid: tuple[float, ...] = EASE_GRID
) -> tuple[float, dict[float, float]]:
    """EASE^R fitted on train for each lambda; the one with the best **valid** NDCG@10
    (train excluded) wins. Returns ``(lambda, {lambda: valid NDCG@10})``."""
    scores: dict[float, float] = {}
    for lam in grid:
        sides = ease(dataset.train, dataset.num_users, dataset.num_items, lam)
        _, per_user = evaluate_sides(sides, dataset.valid, [dataset.train])
        scores[lam] = float(per_user["ndcg@10"].mean())
        logger.info("EASE^R lambda %g: valid NDCG@10 %.4f", lam, scores[lam])
    best = max(scores, key=lambda lam: scores[lam])
    return best, scores


def peer_rows(
    dataset: Any,
    vectors: np.ndarray,
    evals: dict[str, tuple[np.ndarray, list[np.ndarray]]],
    *,
    ease_note: str = "",
    include: Callable[[str, str], bool] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{protocol: {ranker: row}}`` of popularity, text-kNN (``vectors``: the item text
    vectors) and EASE^R (lambda chosen on ``dataset.valid``, :func:`choose_ease`), all fitted
    on ``dataset.train``, for every protocol of ``evals`` not named ``"valid ..."``.

    A row's ``"valid"`` is the ranker's NDCG@10 on ``evals["valid <protocol>"]`` when there is
    one (a cold-valid share), else on ``dataset.valid`` with train excluded (the warm valid).
    ``include(ranker, protocol)`` leaves out the rows it rejects; ``ease_note`` is appended to
    EASE^R's note. The rows are those :func:`table` reads."""
    lam, _ = choose_ease(dataset)
    sides = {
        "popularity": (popularity(dataset.train, dataset.num_users, dataset.num_items), ""),
        "text-kNN": (text_knn(dataset.train, dataset.num_users, vectors), "content only"),
        "EASE^R": (
            ease(dataset.train, dataset.num_users, dataset.num_items, lam),
            "; ".join(filter(None, [f"lambda {lam:g} on warm valid", ease_note])),
        ),
    }
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (pair, note) in sides.items():
        _, warm_valid = evaluate_sides(pair, dataset.valid, [dataset.train])
        for protocol, (pairs, seen) in evals.items():
            if protocol.startswith("valid ") or (include and not include(name, protocol)):
                continue
            _, per_user = evaluate_sides(pair, pairs, seen)
            valid = float(warm_valid["ndcg@10"].mean())
            if f"valid {protocol}" in evals:
                vpairs, vseen = evals[f"valid {protocol}"]
                valid = float(evaluate_sides(pair, vpairs, vseen)[1]["ndcg@10"].mean())
            out.setdefault(protocol, {})[name] = {
                "ndcg@10": per_user["ndcg@10"].tolist(),
                "recall@10": per_user["recall@10"].tolist(),
                "valid": valid,
                "note": note,
            }
    return out


def text_vectors(dataset: Any, cache_dir: Path | None = None) -> np.ndarray:
    """The item text vectors kgrec trains with (MiniLM, ``EncoderConfig`` defaults, the
    embedding cache), zero rows for items without text. ``(I, 384)``."""
    from models.config import EncoderConfig

    config = EncoderConfig(
        use_image=False, use_rating=False, cache_dir=str(cache_dir) if cache_dir else None
    )
    features = dataset.item_features(config)
    return features.modalities["text"][0]


def run_kgrec(
    dataset: Any,
    changes: dict[str, Any],
    *,
    seed: int | None,
    model_dir: Path,
    threads: int = 1,
    protocols: dict[str, tuple[np.ndarray, list[np.ndarray]]] | None = None,
    item_vectors: Callable[[Any, dict[str, Any]], torch.Tensor] | None = None,
    score_views: Callable[[Any], dict[str, tuple[torch.Tensor, torch.Tensor]]] | None = None,
) -> dict[str, Any]:
    """Train with the default ``TrainConfig`` (plus ``changes``) through
    ``models.training.train_model``, as ``bench.movielens`` does, and evaluate the restored
    best-valid embeddings on ``dataset.test`` per user, as the served scorer scores a user it
    was trained on (with the checkpoint's item-item term, ``models.training.item_item``).

    Args:
        protocols: name -> ``(evaluated pairs, pairs excluded from the ranking)`` (default
            ``{"test": (test, [train, valid])}``, the trainer's own test protocol, whose mean
            is checked against the trainer's).
        item_vectors: ``(checkpoint, features) -> (I, d)`` other item vectors to evaluate the
            trained users against (``bench.cold_vectors``), under the view ``"add_item"``.
        score_views: ``checkpoint -> {view: (user side, item side)}``, further readings of
            the checkpoint whose product is a ``(users, items)`` score matrix (e.g. the served
            scorer's scores for a user it does not know, ``bench.usercold``).

    Returns:
        ``{"eval": {"<view>/<protocol>": {"ndcg@10": [per user], "recall@10": [...]}}`` with
        view ``"trained"`` (and ``"add_item"``), the best-valid NDCG@10, epochs, steps, wall
        time and the seed.
    """
    from models.config import TrainConfig
    from models.metrics import dot_scores, scored_user_metrics
    from models.training import train_model
    from models.training.item_item import ItemItem, blended_scores

    config = TrainConfig().with_changes(**changes, threads=threads)
    if seed is not None:
        config = config.with_changes(seed=seed)
    t0 = time.monotonic()
    result = train_model(dataset, config, model_dir, progress=False)
    wall = time.monotonic() - t0
    ckpt = result.checkpoint
    users = ckpt.tensors["users"].float()
    items = ckpt.tensors["items"].float()
    term = ItemItem.from_tensors(ckpt.tensors, ckpt.extra)
    views = {"trained": blended_scores(users, items, term, dataset.train)}
    if item_vectors is not None:
        features = dataset.item_features(config.encoder).tensors()
        cold = item_vectors(ckpt, features)
        views["add_item"] = blended_scores(users, cold, term, dataset.train)
    if score_views is not None:  # users the model does not know: no history term
        views.update({view: dot_scores(*sides) for view, sides in score_views(ckpt).items()})
    protocols = protocols or {"test": (dataset.test, [dataset.train, dataset.valid])}
    evals: dict[str, dict[str, list[float]]] = {}
    for view, scores_of in views.items():
        for protocol, (pairs, excluded) in protocols.items():
            _, per_user = scored_user_metrics(
                scores_of, dataset.num_users, dataset.num_items, pairs, excluded, KS
            )
            evals[f"{view}/{protocol}"] = {
                k: per_user[k].tolist() for k in ("ndcg@10", "recall@10")
            }
    test = ckpt.metrics.get("test", {})
    if "trained/test" in evals and "ndcg@10" in test:
        drift = abs(float(np.mean(evals["trained/test"]["ndcg@10"])) - test["ndcg@10"])
        assert drift < 1e-6, "per-user metrics disagree with the trainer's"
    steps_per_epoch = -(-len(dataset.train) // config.batch_size)
    return {
        "eval": evals,
        "valid_ndcg@10": ckpt.metrics.get("valid", {}).get("ndcg@10", float("nan")),
        "best_epoch": ckpt.metrics["best_epoch"],
        "epochs": len(result.history),
        "steps": len(result.history) * steps_per_epoch,
        "wall_seconds": wall,
        "seed": config.seed,
    }


def kgrec_rows(
    runs: dict[str, dict[str, Any]],
    view: str = "trained/test",
    suffix: str = "",
    valid_view: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Group ``"<variant> s<seed>"`` runs into one row per variant (seeds stacked), reading
    the per-user values of ``view`` (a key of ``run_kgrec``'s ``"eval"``); rows are named
    ``"<variant><suffix>"``. The row's valid figure is the trainer's best valid NDCG@10, or
    the mean NDCG@10 of ``valid_view`` when given (e.g. a cold-valid protocol)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, run in runs.items():
        if view in run["eval"]:
            grouped.setdefault(key.rsplit(" s", 1)[0] + suffix, []).append(run)
    rows = {}
    for name, seeds in grouped.items():
        rows[name] = {
            "ndcg@10": np.array([r["eval"][view]["ndcg@10"] for r in seeds]),
            "recall@10": np.array([r["eval"][view]["recall@10"] for r in seeds]),
            "valid": float(
                np.mean(
                    [
                        np.mean(r["eval"][valid_view]["ndcg@10"])
                        if valid_view
                        else r["valid_ndcg@10"]
                        for r in seeds
                    ]
                )
            ),
            "note": "best/epochs "
            + ",".join(f"{r['best_epoch']}/{r['epochs']}" for r in seeds)
            + f"; {np.mean([r['wall_seconds'] for r in seeds]):.0f} s/run",
        }
    return rows


def seeded_subset(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``round(fraction * n)`` of ``range(n)`` drawn without replacement by
    ``numpy.random.default_rng(seed)`` (the same for the same arguments): which items or
    users a cold-start split makes cold."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=round(fraction * n), replace=False))


def seeds_for(n: int) -> list[int]:
    """``bench.movielens``'s seeds: the default (2026), then 1, 2, ... (n - 1); none for 0."""
    from models.config import TrainConfig

    return [TrainConfig().seed, *range(1, n)] if n > 0 else []


def table(
    rows: dict[str, dict[str, Any]], reference: str, *, title: str, samples: int = 2000
) -> str:
    """One line per ranker: seeds, valid NDCG@10, test NDCG@10 / Recall@10 (mean over seeds of
    the per-user mean), and the paired difference of NDCG@10 against ``reference`` with its
    bootstrap 95% CI (users resampled, each user's NDCG averaged over seeds first).

    ``rows[name]``: ``{"ndcg@10": (seeds, users), "recall@10": (seeds, users),
    "valid": float or None, "note": str}``."""
    ref = np.atleast_2d(rows[reference]["ndcg@10"])
    head = ["ranker", "seeds", "valid N@10", "N@10", "R@10", f"paired dN@10 vs {reference}", ""]
    lines = []
    for name, row in rows.items():
        ndcg = np.atleast_2d(row["ndcg@10"])
        recall = np.atleast_2d(row["recall@10"])
        valid = row.get("valid")
        if name == reference:
            diff, verdict = "(reference)", ""
        else:
            d = paired_bootstrap(ndcg, ref, samples=samples)
            diff, verdict = str(d), d.verdict("better", "worse")
        lines.append(
            [
                name,
                str(ndcg.shape[0]),
                "-" if valid is None else f"{valid:.4f}",
                f"{ndcg.mean():.4f}",
                f"{recall.mean():.4f}",
                diff,
                " ".join(filter(None, [verdict, row.get("note", "")])),
            ]
        )
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i in (0, 6) else '>'}{w}}}" for i, w in enumerate(widths))
    out = [title, fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    out += [fmt.format(*r).rstrip() for r in lines]
    return "\n".join(out)
