"""Item cold start on MovieLens-100K: new items ranked against warm ones, with paired CIs.

Usage (repo root)::

    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3
    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 1 \\
        --variants "kgrec,kgrec -KG,kgrec -text,kgrec -image,kgrec -rating"
    nice -n 5 .venv/bin/python -m bench.coldstart --reuse      # tables from the json

The split (:func:`item_cold_split`): a seeded ``--fraction`` (20%) of the fixed split's items
become **cold**: every interaction of theirs (train, valid and test) is removed from train and
valid, and their training ratings from the rating features, so nothing a model or feature
reads has seen a cold item used. Cold items keep their content: KG edges, text, poster.

Evaluation: for every user with at least one removed interaction, that user's cold items are
the relevant set; all items are ranked (cold and warm), the user's remaining train and valid
items excluded -- the same full ranking and exclusion as the warm protocol; a warm item the
user rates later in test is a competitor, not a hit. Models are selected on the warm valid
split only (no cold item is ever used for selection).

Rankers: popularity (a cold item has count 0: the floor), text-kNN (content only: the mean
MiniLM vector of the user's training items against each item's), EASE^R (lambda chosen on the
warm valid; its weights for an item without interactions are zero, so it cannot score cold
items: it shows the same floor), and kgrec by the product trainer on the reduced data
(``--variants`` adds ``bench.movielens`` ablations), read two ways: ``kgrec`` scores the cold
items with the vectors training left them (nodes with KG edges and features, but only ever
softmax negatives), ``kgrec add_item`` re-embeds them as the served scorer embeds a new item
(``bench.cold_vectors``: trained fusion of their content plus their KG entities' vectors).
Paired per-user NDCG@10 differences with bootstrap 95% CIs: against text-kNN, and for the
ablations against the full ``kgrec add_item``.
Per-user results are merged into ``bench/out/coldstart.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.cold_vectors import add_item_vectors
from bench.peer_runs import choose_ease, evaluate_sides, kgrec_rows, run_kgrec, seeds_for, table
from bench.peers import ease, popularity, text_knn

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "bench" / "out" / "coldstart.json"

logger = logging.getLogger("bench.coldstart")

__all__ = ["cold_items", "item_cold_split", "main", "protocols"]


def cold_items(num_items: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``round(fraction * num_items)`` items drawn without replacement by
    ``numpy.random.default_rng(seed)`` (the same items for the same arguments)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    n = round(fraction * num_items)
    return np.sort(rng.choice(num_items, size=n, replace=False))


def item_cold_split(dataset: Any, fraction: float = 0.2, seed: int = 0) -> tuple[Any, np.ndarray]:
    """``(reduced dataset, cold item indices)``.

    The reduced dataset keeps all users, items, KG edges, texts and images; its ``train`` and
    ``valid`` lose every pair of a cold item, its rating rows lose every cold item's rating,
    and its ``test`` is every removed pair (the cold evaluation set, from train, valid and
    test of the original split).
    """
    cold = cold_items(dataset.num_items, fraction, seed)
    is_cold = np.zeros(dataset.num_items, dtype=bool)
    is_cold[cold] = True
    parts = {"train": dataset.train, "valid": dataset.valid, "test": dataset.test}
    keep = {name: ~is_cold[pairs[:, 1]] for name, pairs in parts.items()}
    removed = np.concatenate([pairs[~keep[name]] for name, pairs in parts.items()])
    items, values, ts = dataset.rating_rows
    warm_rating = ~is_cold[items]
    pair_ratings = {}
    if dataset.pair_ratings:
        pair_ratings = {name: dataset.pair_ratings[name][keep[name]] for name in ("train", "valid")}
        pair_ratings["test"] = np.concatenate(
            [dataset.pair_ratings[name][~keep[name]] for name in parts]
        )
    reduced = dataclasses.replace(
        dataset,
        name=f"{dataset.name}-itemcold{fraction:g}-s{seed}",
        train=dataset.train[keep["train"]],
        valid=dataset.valid[keep["valid"]],
        test=removed,
        rating_rows=(items[warm_rating], values[warm_rating], ts[warm_rating]),
        pair_ratings=pair_ratings,
    )
    return reduced, cold


def protocols(cold: Any, cold_idx: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Pairs excluded from each user's ranking, per protocol.

    * ``vs-warm`` -- the user's reduced train + valid (cold items compete with every warm
      item the user has not interacted with before the test: the headline protocol);
    * ``cold-only`` -- every warm item (only cold items are ranked: how well a ranker orders
      new items among themselves, whatever its scores for warm items).
    """
    warm = np.setdiff1d(np.arange(cold.num_items), cold_idx)
    users = np.arange(cold.num_users)
    all_warm = np.stack([np.repeat(users, len(warm)), np.tile(warm, len(users))], 1)
    return {"vs-warm": [cold.train, cold.valid], "cold-only": [all_warm]}


def _peer_rows(
    cold: Any, vectors: np.ndarray, excluded: dict[str, list[np.ndarray]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{protocol: {ranker: row}}``; popularity and EASE^R give every cold item the same
    score (0), so they appear in ``vs-warm`` only (within cold items their order would be
    the tie order of item indices)."""
    lam, _ = choose_ease(cold)
    sides = {
        "popularity": (popularity(cold.train, cold.num_users, cold.num_items), ""),
        "text-kNN": (text_knn(cold.train, cold.num_users, vectors), "content only"),
        "EASE^R": (
            ease(cold.train, cold.num_users, cold.num_items, lam),
            f"lambda {lam:g} on warm valid; cannot score cold items (zero weights)",
        ),
    }
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in excluded}
    for name, (pair, note) in sides.items():
        _, valid = evaluate_sides(pair, cold.valid, [cold.train])
        for protocol, seen in excluded.items():
            if protocol != "vs-warm" and name != "text-kNN":
                continue
            _, per_user = evaluate_sides(pair, cold.test, seen)
            out[protocol][name] = {
                "ndcg@10": per_user["ndcg@10"].tolist(),
                "recall@10": per_user["recall@10"].tolist(),
                "valid": float(valid["ndcg@10"].mean()),
                "note": note,
            }
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.movielens import VARIANTS
    from bench.peer_runs import load_movielens_data, text_vectors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of items made cold")
    parser.add_argument("--split-seed", type=int, default=0, help="which items are cold")
    parser.add_argument("--seeds", type=int, default=3, help="kgrec training seeds")
    parser.add_argument("--variants", default="kgrec", help="comma list of bench.movielens runs")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/kgrec-bench-cold"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="no training: kgrec runs from json")
    parser.add_argument("--out", type=Path, default=OUT_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    dataset = load_movielens_data(args.data)
    cold, cold_idx = item_cold_split(dataset, args.fraction, args.split_seed)
    excluded = protocols(cold, cold_idx)
    split_key = f"fraction {args.fraction:g} split-seed {args.split_seed}"
    saved: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs: dict[str, Any] = saved.get(split_key, {})
    if not args.reuse:
        for seed in seeds_for(args.seeds):
            for name in filter(None, args.variants.split(",")):
                key = f"{name} s{seed}"
                if key in runs:
                    continue
                model_dir = args.model_dir / f"{name.replace(' ', '')}-s{seed}"
                runs[key] = run_kgrec(
                    cold,
                    VARIANTS[name],
                    seed=seed,
                    model_dir=model_dir,
                    threads=args.threads,
                    protocols=excluded,
                    item_vectors=lambda ckpt, feats: add_item_vectors(ckpt, feats, cold_idx),
                )
                saved[split_key] = runs
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(saved) + "\n")
    peer_rows = _peer_rows(cold, text_vectors(dataset), excluded)
    n_users = len(np.unique(cold.test[:, 0]))
    print()
    print(
        f"ML-100K item cold start: {len(cold_idx)} cold items ({split_key}), "
        f"{len(cold.test)} held-out pairs of {n_users} users; train/valid "
        f"{len(cold.train)}/{len(cold.valid)}; valid N@10 is on warm items"
    )
    for protocol in excluded:
        rows = dict(peer_rows[protocol])
        rows.update(kgrec_rows(runs, f"trained/{protocol}"))
        rows.update(kgrec_rows(runs, f"add_item/{protocol}", " add_item"))
        print()
        print(table(rows, "text-kNN", title=f"cold items, protocol {protocol}"))
    for view, suffix in (("trained", ""), ("add_item", " add_item")):
        ablation = kgrec_rows(runs, f"{view}/cold-only", suffix)
        if f"kgrec{suffix}" in ablation and len(ablation) > 1:
            print()
            print(
                table(
                    ablation,
                    f"kgrec{suffix}",
                    title=f"ablations on cold items, protocol cold-only, {view} vectors",
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
