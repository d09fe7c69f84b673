"""Item cold start on MovieLens-100K: new items ranked against warm ones, with paired CIs.

Usage (repo root)::

    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3
    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 1 \\
        --variants "kgrec,kgrec -KG,kgrec -text,kgrec -image,kgrec -rating"
    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3 \
        --cold-valid 0.5 --variants "kgrec,kgrec text-only"
    nice -n 5 .venv/bin/python -m bench.coldstart --reuse      # tables from the json
    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3 \
        --users 1,3 --user-cold-valid 0.5       # item tables, then user cold start
    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3 --warm \
        --users 1,3 --user-cold-valid 0.5 --user-fraction 0.4 --user-splits 0,1,2

``--warm`` prints the warm table first (``bench.movielens_peers`` with the same data, seeds,
variants, threads and ``--reuse``: EASE^R, the RecBole runs of ``bench/out/recbole.json``
on defaults and tuned, kgrec), so one command prints warm and cold-start tables side by side.

``--users K,...`` adds the user cold-start tables (``bench.usercold``: users known by only
``k`` training interactions) after the item ones, ``--no-items`` prints only those.
``--messages`` ends with users known only from a one-line message
(``bench.message_users``: the demo store, where the truth is known; ``--seeds`` stores).

The split (:func:`item_cold_split`): a seeded ``--fraction`` (20%) of the fixed split's items
become **cold**: every interaction of theirs (train, valid and test) is removed from train and
valid, and their training ratings from the rating features, so nothing a model or feature
reads has seen a cold item used. Cold items keep their content: KG edges, text, poster.

Evaluation: for every user with at least one removed interaction, that user's cold items are
the relevant set; all items are ranked (cold and warm), the user's remaining train and valid
items excluded -- the same full ranking and exclusion as the warm protocol; a warm item the
user rates later in test is a competitor, not a hit. By default models are selected on the
warm valid split only (no cold item is ever used for selection) and the "valid" column is the
warm valid NDCG@10. ``--cold-valid S`` (:func:`split_cold_valid`) sets a seeded share ``S``
of the cold items apart as **cold-valid** items: their removed pairs are evaluated under the
same protocols and become the "valid" column, the rest are the test, so that a cold-start
recipe can be chosen on cold items without reading the test.

Rankers: popularity (a cold item has count 0: the floor), text-kNN (content only: the mean
MiniLM vector of the user's training items against each item's), EASE^R (lambda chosen on the
warm valid; its weights for an item without interactions are zero, so it cannot score cold
items: it shows the same floor), and kgrec by the product trainer on the reduced data
(``--variants`` adds ``bench.movielens`` ablations, ``kgrec text-only``: no KG, text as
the only item feature, ``kgrec cold-map``: ``TrainConfig.cold_item_map``, and ``kgrec
neighbours K``: ``TrainConfig.item_item_text_neighbours`` = K instead of 20), read two
ways: ``kgrec`` scores the cold items with the vectors training left them (nodes with KG
edges and features, but only ever softmax negatives; with ``cold_item_map`` the trainer's
ridge map), ``kgrec add_item`` re-embeds them as the served scorer embeds a new item
(``bench.cold_vectors``: trained fusion of their content plus their KG entities' vectors, or
the checkpoint's ridge map).
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

from bench import message_users
from bench.cold_vectors import add_item_vectors
from bench.message_users import message_tables
from bench.peer_runs import kgrec_rows, peer_rows, run_kgrec, seeded_subset, seeds_for, table

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "bench" / "out" / "coldstart.json"

logger = logging.getLogger("bench.coldstart")

__all__ = [
    "COLD_VARIANTS",
    "cold_items",
    "item_cold_split",
    "main",
    "protocols",
    "split_cold_valid",
]


def cold_items(num_items: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``round(fraction * num_items)`` items drawn without replacement by
    ``numpy.random.default_rng(seed)`` (the same items for the same arguments;
    :func:`bench.peer_runs.seeded_subset`, which the user cold split draws with too)."""
    return seeded_subset(num_items, fraction, seed)


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


def split_cold_valid(
    cold: Any, cold_idx: np.ndarray, share: float, seed: int = 0
) -> tuple[Any, np.ndarray]:
    """``(dataset whose test is the cold-test pairs, cold-valid pairs)``: a seeded ``share``
    of the cold items (``numpy.random.default_rng(seed + 1)``) and all their removed pairs
    are set apart for selection; both halves stay out of train and valid."""
    valid_items = cold_items(len(cold_idx), share, seed + 1)
    is_valid = np.zeros(cold.num_items, dtype=bool)
    is_valid[cold_idx[valid_items]] = True
    in_valid = is_valid[cold.test[:, 1]]
    pair_ratings = dict(cold.pair_ratings)
    if "test" in pair_ratings:
        pair_ratings["test"] = pair_ratings["test"][~in_valid]
    test_only = dataclasses.replace(cold, test=cold.test[~in_valid], pair_ratings=pair_ratings)
    return test_only, cold.test[in_valid]


def protocols(
    cold: Any, cold_idx: np.ndarray, cold_valid: np.ndarray | None = None
) -> dict[str, tuple[np.ndarray, list[np.ndarray]]]:
    """Evaluated pairs and pairs excluded from each user's ranking, per protocol.

    * ``vs-warm`` -- the user's reduced train + valid excluded (cold items compete with every
      warm item the user has not interacted with before the test: the headline protocol);
    * ``cold-only`` -- every warm item excluded (only cold items are ranked: how well a ranker
      orders new items among themselves, whatever its scores for warm items).

    With ``cold_valid`` pairs, ``valid vs-warm`` and ``valid cold-only`` evaluate them alike;
    each half's items are then excluded from the other half's ranking, so each half is a set
    of new items of its own (otherwise an item that scores high for everyone, e.g. a text
    "hub", fills the top 10 of the other half's users wherever the split puts it).
    """
    users = np.arange(cold.num_users)

    def every_user(items: np.ndarray) -> np.ndarray:
        return np.stack([np.repeat(users, len(items)), np.tile(items, len(users))], 1)

    all_warm = every_user(np.setdiff1d(np.arange(cold.num_items), cold_idx))
    excluded = {"vs-warm": [cold.train, cold.valid], "cold-only": [all_warm]}
    if cold_valid is None:
        return {name: (cold.test, seen) for name, seen in excluded.items()}
    valid_items = every_user(np.unique(cold_valid[:, 1]))
    test_items = every_user(np.setdiff1d(cold_idx, cold_valid[:, 1]))
    out = {name: (cold.test, [*seen, valid_items]) for name, seen in excluded.items()}
    out.update(
        {f"valid {name}": (cold_valid, [*seen, test_items]) for name, seen in excluded.items()}
    )
    return out


#: cold-start variants beside ``bench.movielens.VARIANTS``
COLD_VARIANTS: dict[str, dict[str, Any]] = {
    "kgrec text-only": {
        "model": {"use_kg": False},
        "encoder": {"use_image": False, "use_rating": False},
    },
    "kgrec cold-map": {"cold_item_map": True},
    # the item-item term's text neighbours for items without interactions (default 20)
    **{f"kgrec neighbours {k}": {"item_item_text_neighbours": k} for k in (0, 5, 50)},
}


def _item_tables(dataset: Any, args: argparse.Namespace, variants: dict[str, Any]) -> None:
    """Train (or reuse) kgrec on the item cold split and print the item tables."""
    from bench.movielens import VARIANTS
    from bench.peer_runs import text_vectors

    cold, cold_idx = item_cold_split(dataset, args.fraction, args.split_seed)
    cold_valid = None
    split_key = f"fraction {args.fraction:g} split-seed {args.split_seed}"
    if args.cold_valid > 0:
        cold, cold_valid = split_cold_valid(cold, cold_idx, args.cold_valid, args.split_seed)
        split_key += f" cold-valid {args.cold_valid:g}"
    evals = protocols(cold, cold_idx, cold_valid)
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
                    variants[name],
                    seed=seed,
                    model_dir=model_dir,
                    threads=args.threads,
                    protocols=evals,
                    item_vectors=lambda ckpt, feats: add_item_vectors(ckpt, feats, cold_idx),
                )
                saved[split_key] = runs
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(saved) + "\n")
    peers = peer_rows(
        cold,
        text_vectors(dataset),
        evals,
        ease_note="cannot score cold items (zero weights)",
        # popularity and EASE^R give every cold item the same score (0): among cold items
        # only, their order would be the tie order of item indices
        include=lambda name, protocol: protocol == "vs-warm" or name == "text-kNN",
    )
    n_users = len(np.unique(cold.test[:, 0]))
    valid_note = (
        f"valid N@10 is on the {len(cold_valid)} cold-valid pairs"
        if cold_valid is not None
        else "valid N@10 is on warm items"
    )
    print()
    print(
        f"ML-100K item cold start: {len(cold_idx)} cold items ({split_key}), "
        f"{len(cold.test)} held-out test pairs of {n_users} users; train/valid "
        f"{len(cold.train)}/{len(cold.valid)}; {valid_note}"
    )
    for protocol in peers:
        valid_view = f"valid {protocol}" if f"valid {protocol}" in evals else None
        rows = dict(peers[protocol])
        for view, suffix in (("trained", ""), ("add_item", " add_item")):
            rows.update(
                kgrec_rows(
                    runs,
                    f"{view}/{protocol}",
                    suffix,
                    valid_view and f"{view}/{valid_view}",
                )
            )
        print()
        print(table(rows, "text-kNN", title=f"cold items, protocol {protocol}"))
    for view, suffix in (("trained", ""), ("add_item", " add_item")):
        valid_view = f"{view}/valid cold-only" if cold_valid is not None else None
        ablation = kgrec_rows(runs, f"{view}/cold-only", suffix, valid_view)
        ablation = {k: v for k, v in ablation.items() if k.rsplit(" add_item")[0] in VARIANTS}
        if f"kgrec{suffix}" in ablation and len(ablation) > 1:
            print()
            print(
                table(
                    ablation,
                    f"kgrec{suffix}",
                    title=f"ablations on cold items, protocol cold-only, {view} vectors",
                )
            )


def main(argv: list[str] | None = None) -> int:
    from bench.movielens import VARIANTS
    from bench.peer_runs import add_run_arguments, load_movielens_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(
        parser,
        data=REPO_ROOT.parent / "shared" / "data",
        model_dir=Path("/tmp/kgrec-bench-cold"),
        out=OUT_PATH,
    )
    parser.add_argument("--fraction", type=float, default=0.2, help="share of items made cold")
    parser.add_argument("--split-seed", type=int, default=0, help="which items / users are cold")
    parser.add_argument(
        "--cold-valid", type=float, default=0.0, help="share of cold items kept for selection"
    )
    parser.add_argument(
        "--users", default="", help="user cold start too: comma list of k (e.g. 1,3)"
    )
    parser.add_argument("--user-fraction", type=float, default=0.2, help="share of users made cold")
    parser.add_argument(
        "--user-cold-valid", type=float, default=0.0, help="share of cold users kept for selection"
    )
    parser.add_argument(
        "--user-splits", default="", help="user splits pooled: comma list of split seeds"
    )
    parser.add_argument("--no-items", action="store_true", help="user cold start only")
    parser.add_argument(
        "--messages", action="store_true",
        help="users known only from a one-line message too (bench.message_users, demo store)",
    )  # fmt: skip
    message_users.add_arguments(parser, prefix="message-")
    parser.add_argument(
        "--warm", action="store_true", help="the warm table first (bench.movielens_peers)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.warm:
        from bench import movielens_peers

        warm = [
            "--data",
            str(args.data),
            "--seeds",
            str(args.seeds),
            "--threads",
            str(args.threads),
        ]
        names = [n for n in args.variants.split(",") if n in VARIANTS]  # warm runs only
        warm += ["--variants", ",".join(names)] + (["--reuse"] if args.reuse else [])
        movielens_peers.main(warm)

    from bench.usercold import LONG_VARIANTS

    variants = {**VARIANTS, **COLD_VARIANTS, **LONG_VARIANTS}
    dataset = load_movielens_data(args.data)
    if not args.no_items:
        _item_tables(dataset, args, variants)
    if args.users:
        from bench.usercold import user_tables

        print("\n".join(user_tables(dataset, args, variants)))
    if args.messages:
        shop = argparse.Namespace(
            seeds=args.seeds, first_seed=0, data_dir=None, shoppers=args.message_shoppers,
            products=args.message_products, users=args.message_users,
            top_n=args.message_top_n,
        )  # fmt: skip
        print("\n" + "\n".join(message_tables(message_users.run_seeds(shop))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
