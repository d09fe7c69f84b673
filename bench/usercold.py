"""User cold start on MovieLens-100K: users known by only ``k`` training interactions.

Run through ``bench.coldstart`` (one command prints the item and the user tables)::

    nice -n 5 .venv/bin/python -m bench.coldstart --data ../shared/data --seeds 3 \\
        --users 1,3 --user-fraction 0.4 --user-cold-valid 0.5 --user-splits 0,1,2 \\
        --no-items --variants "kgrec,kgrec -KG,kgrec -text,kgrec long,kgrec -KG long"

The split (:func:`user_cold_split`): a seeded ``--user-fraction`` of the users that have test
pairs become **cold**: each keeps only ``k`` of their training pairs (a seeded choice; for the
same seed the pairs kept at ``k = 1`` are among those kept at ``k = 3``), every other
training and validation pair of theirs is removed from train and valid and from the rating
features, so nothing a model or feature reads has seen it. Their test pairs are the
evaluation set; warm users keep all their data and are not evaluated.

Evaluation: a cold user's test items are the hits; all items are ranked, the user's
**original** train and valid items excluded (the kept ones and the removed ones): the same
candidate set as the warm protocol for that user, so the figures read beside the warm ones.
``--user-cold-valid S`` (:func:`split_cold_users`) sets a seeded share of the cold users
apart as **cold-valid** users: their test pairs are the "valid" column, the rest are the
test; otherwise the "valid" column is the warm valid. The reference of the paired column is
the peer with the best valid column (never chosen on the test users).

Rankers: popularity, text-kNN (content only: the mean MiniLM vector of the user's kept
items), EASE^R (lambda chosen on the warm valid) and kgrec by the product trainer on the
reduced data, read two ways: ``kgrec`` scores with the user vector training left (the user
was a node with ``k`` edges), ``kgrec served`` scores as ``models.scoring.GnnScorer`` serves
a user it does not know who liked those ``k`` items (:func:`served_views`: no user vector,
the mean of the liked items' vectors against every item, cosine). ``kgrec long`` and its
ablations (:data:`LONG_VARIANTS`) stop on a 3x longer valid plateau; each ablation table
pairs a variant with the full model of the same patience.

``--user-splits 0,1,2`` pools several seeded splits (:func:`pool_rows`): one split leaves
~190 test users at ``--user-fraction 0.4 --user-cold-valid 0.5``, too few for intervals
that separate the rankers.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import json
import os
from typing import Any

import numpy as np
import torch

from bench.peer_runs import kgrec_rows, peer_rows, run_kgrec, seeded_subset, seeds_for, table

__all__ = [
    "LONG_VARIANTS",
    "pool_rows",
    "served_views",
    "split_cold_users",
    "user_cold_split",
    "user_protocols",
    "user_tables",
]

Protocols = dict[str, tuple[np.ndarray, list[np.ndarray]]]

#: runs to a longer plateau (30 validations, 60 epochs, without a valid gain; default 10):
#: the -KG ablation's default runs often stop at epoch 38-48, and an ablation stopped on a
#: shorter plateau than the full model's says little about the input it removes
LONG_VARIANTS: dict[str, dict[str, Any]] = {
    "kgrec long": {"patience": 30},
    "kgrec -KG long": {"model": {"use_kg": False}, "patience": 30},
    "kgrec -text long": {"encoder": {"use_text": False}, "patience": 30},
}


def user_cold_split(
    dataset: Any, keep: int, fraction: float = 0.2, seed: int = 0
) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(reduced dataset, cold user indices, removed pairs)``.

    Cold users are ``round(fraction * n)`` of the ``n`` users with at least one test pair
    (:func:`bench.peer_runs.seeded_subset` with ``seed``: the same users for every ``keep``).
    Each keeps the ``keep`` training pairs of lowest seeded priority
    (``numpy.random.default_rng(seed + 1)``, one draw per training pair, so the pairs kept
    for a smaller ``keep`` are among those kept for a larger one). The reduced dataset keeps
    all users, items and content; its ``train`` loses the cold users' other training pairs,
    its ``valid`` every cold user's pair, its rating rows the removed training pairs' ratings,
    and its ``test`` is the cold users' test pairs. ``removed``: the cold users' removed
    train and valid pairs (excluded from their ranking, as in the warm protocol).

    Raises:
        ValueError: ``keep < 1``, or rating rows that are not one per training pair (they
            carry no user, so only that alignment tells which ones to remove).
    """
    if keep < 1:
        raise ValueError("keep must be >= 1")
    items, values, ts = dataset.rating_rows
    train = dataset.train
    if len(items) != len(train) or not np.array_equal(items, train[:, 1]):
        raise ValueError("rating rows must be one per training pair, in train order")
    eligible = np.unique(dataset.test[:, 0])
    users = eligible[seeded_subset(len(eligible), fraction, seed)]
    is_cold = np.zeros(dataset.num_users, dtype=bool)
    is_cold[users] = True
    priority = np.random.default_rng(seed + 1).random(len(train))
    order = np.lexsort((priority, train[:, 0]))  # by user, then by priority
    by_user = train[order, 0]
    rank = np.empty(len(train), dtype=np.int64)
    rank[order] = np.arange(len(train)) - np.searchsorted(by_user, by_user, side="left")
    keep_train = ~is_cold[train[:, 0]] | (rank < keep)
    keep_valid = ~is_cold[dataset.valid[:, 0]]
    in_test = is_cold[dataset.test[:, 0]]
    removed = np.concatenate([train[~keep_train], dataset.valid[~keep_valid]])
    pair_ratings = {}
    if dataset.pair_ratings:
        masks = {"train": keep_train, "valid": keep_valid, "test": in_test}
        pair_ratings = {name: dataset.pair_ratings[name][m] for name, m in masks.items()}
    reduced = dataclasses.replace(
        dataset,
        name=f"{dataset.name}-usercold{fraction:g}-k{keep}-s{seed}",
        train=train[keep_train],
        valid=dataset.valid[keep_valid],
        test=dataset.test[in_test],
        rating_rows=(items[keep_train], values[keep_train], ts[keep_train]),
        pair_ratings=pair_ratings,
    )
    return reduced, users, removed


def split_cold_users(
    cold: Any, users: np.ndarray, share: float, seed: int = 0
) -> tuple[Any, np.ndarray]:
    """``(dataset whose test is the cold-test users' pairs, cold-valid users' test pairs)``:
    a seeded ``share`` of the cold users (``seeded_subset(len(users), share, seed + 2)``) is set
    apart for selection; neither half is in train or valid beyond its kept pairs."""
    valid_users = users[seeded_subset(len(users), share, seed + 2)]
    in_valid = np.isin(cold.test[:, 0], valid_users)
    pair_ratings = dict(cold.pair_ratings)
    if "test" in pair_ratings:
        pair_ratings["test"] = pair_ratings["test"][~in_valid]
    test_only = dataclasses.replace(cold, test=cold.test[~in_valid], pair_ratings=pair_ratings)
    return test_only, cold.test[in_valid]


def user_protocols(
    cold: Any, removed: np.ndarray, cold_valid: np.ndarray | None = None
) -> Protocols:
    """``{"cold users": (test pairs, excluded)}`` (and ``"valid cold users"`` for the
    cold-valid pairs): the excluded pairs are the reduced train and valid plus the removed
    pairs, i.e. every user's original train and valid items."""
    seen = [cold.train, cold.valid, removed]
    out: Protocols = {"cold users": (cold.test, seen)}
    if cold_valid is not None:
        out["valid cold users"] = (cold_valid, seen)
    return out


def served_views(
    checkpoint: Any, dataset: Any, users: np.ndarray
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"served": (scores, identity)}``: for each of ``users``, the catalogue scores of a
    ``GnnScorer`` on ``checkpoint`` for an anonymous session that liked the user's training
    items in ``dataset`` (``ScoringContext(liked_item_ids=...)``, no user id): how the product
    serves a user it has no vector for (the trained users' mean in its place). Other users'
    rows are zero. The identity item side makes ``scores @ identity.T`` the score matrix
    ``bench.peer_runs`` evaluates."""
    from models.scoring import GnnScorer
    from models.scoring.item_scorer import ScoringContext

    scorer = GnnScorer(checkpoint, device="cpu")
    if scorer.item_ids != list(dataset.item_ids):
        raise ValueError("checkpoint items are not the dataset's, in the same order")
    scores = torch.zeros(dataset.num_users, dataset.num_items)
    for user in np.asarray(users).tolist():
        items = dataset.train[dataset.train[:, 0] == user, 1]
        liked = tuple(dataset.item_ids[i] for i in items.tolist())
        scores[user] = torch.from_numpy(scorer.catalog_scores(ScoringContext(liked_item_ids=liked)))
    return {"served": (scores, torch.eye(dataset.num_items))}


def pool_rows(per_split: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One table row per ranker from several splits' rows (``bench.peer_runs.table``'s
    format): per-user values are concatenated along the user axis, so each (split, user) is
    one unit of the paired bootstrap; ``valid`` is the mean over splits; distinct notes are
    joined. A ranker missing from a split, or run with different numbers of seeds in two
    splits, is left out (its users would not pair)."""
    out: dict[str, dict[str, Any]] = {}
    for name in per_split[0]:
        if not all(name in rows for rows in per_split):
            continue
        parts = [rows[name] for rows in per_split]
        ndcg = [np.atleast_2d(np.asarray(p["ndcg@10"], dtype=np.float64)) for p in parts]
        recall = [np.atleast_2d(np.asarray(p["recall@10"], dtype=np.float64)) for p in parts]
        if len({a.shape[0] for a in ndcg}) > 1:
            continue
        notes = dict.fromkeys(p.get("note", "") for p in parts)
        out[name] = {
            "ndcg@10": np.concatenate(ndcg, axis=1),
            "recall@10": np.concatenate(recall, axis=1),
            "valid": float(np.mean([p["valid"] for p in parts])),
            "note": " | ".join(filter(None, notes)),
        }
    return out


def _split_rows(
    dataset: Any,
    vectors: np.ndarray,
    args: argparse.Namespace,
    variants: dict[str, Any],
    keep: int,
    split_seed: int,
) -> tuple[dict[str, dict[str, Any]], str]:
    """``(table rows, one-line description)`` of one user cold split: kgrec trained (or
    reused from ``args.out``) and read both ways, and the peers."""
    cold, users, removed = user_cold_split(dataset, keep, args.user_fraction, split_seed)
    split_key = f"users keep {keep} fraction {args.user_fraction:g} split-seed {split_seed}"
    cold_valid = None
    if args.user_cold_valid > 0:
        cold, cold_valid = split_cold_users(cold, users, args.user_cold_valid, split_seed)
        split_key += f" cold-valid {args.user_cold_valid:g}"
    evals = user_protocols(cold, removed, cold_valid)
    saved: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs: dict[str, Any] = saved.get(split_key, {})
    if not args.reuse:
        for seed in seeds_for(args.seeds):
            for name in filter(None, args.variants.split(",")):
                key = f"{name} s{seed}"
                if key in runs:
                    continue
                folder = f"users-k{keep}-split{split_seed}/{name.replace(' ', '')}-s{seed}"
                runs[key] = run_kgrec(
                    cold,
                    variants[name],
                    seed=seed,
                    model_dir=args.model_dir / folder,
                    threads=args.threads,
                    protocols=evals,
                    score_views=functools.partial(served_views, dataset=cold, users=users),
                )
                saved = json.loads(args.out.read_text()) if args.out.exists() else {}
                saved[split_key] = runs
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(saved) + "\n")
    rows = dict(peer_rows(cold, vectors, evals)["cold users"])
    valid_view = "valid cold users" if cold_valid is not None else None
    for view, suffix in (("trained", ""), ("served", " served")):
        rows.update(
            kgrec_rows(runs, f"{view}/cold users", suffix, valid_view and f"{view}/{valid_view}")
        )
    described = (
        f"split-seed {split_seed}: {len(users)} cold users, {len(cold.test)} test pairs of "
        f"{len(np.unique(cold.test[:, 0]))} users, train/valid {len(cold.train)}/{len(cold.valid)}"
    )
    if cold_valid is not None:
        described += (
            f", {len(cold_valid)} cold-valid pairs of {len(np.unique(cold_valid[:, 0]))} users"
        )
    return rows, described


def user_tables(dataset: Any, args: argparse.Namespace, variants: dict[str, Any]) -> list[str]:
    """Train (or reuse) kgrec on each ``args.users`` split and return the printed tables.

    ``args``: ``bench.coldstart``'s options (``users``, ``user_fraction``,
    ``user_cold_valid``, ``user_splits`` or else ``split_seed``, ``seeds``, ``variants``,
    ``model_dir``, ``threads``, ``reuse``, ``out``); runs are merged into ``args.out`` under
    one key per split. With several split seeds the rows are pooled (:func:`pool_rows`)."""
    from bench.peer_runs import text_vectors

    vectors = text_vectors(dataset)
    splits = [int(s) for s in str(args.user_splits or args.split_seed).split(",")]
    out: list[str] = []
    for keep in [int(k) for k in args.users.split(",") if k.strip()]:
        per_split, described = [], []
        for split_seed in splits:
            rows, line = _split_rows(dataset, vectors, args, variants, keep, split_seed)
            per_split.append(rows)
            described.append(line)
        rows = pool_rows(per_split)
        peers = [name for name in ("popularity", "text-kNN", "EASE^R") if name in rows]
        reference = max(peers, key=lambda name: rows[name]["valid"])
        valid_note = (
            "valid N@10 is on the cold-valid users' test pairs"
            if args.user_cold_valid > 0
            else "valid N@10 is on warm valid"
        )
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        out += [
            "",
            f"ML-100K user cold start, k = {keep}: a share {args.user_fraction:g} of the users "
            f"with test pairs keep {keep} training pair(s)"
            + (f", cold-valid {args.user_cold_valid:g}" if args.user_cold_valid > 0 else "")
            + f"; {len(splits)} split(s) pooled, (split, user) = one bootstrap unit; "
            f"{valid_note}; reference = the peer with the best valid N@10; "
            f"load average {load}",
            *(f"  {line}" for line in described),
            "",
            table(rows, reference, title=f"cold users with {keep} training interaction(s)"),
        ]
        for (view, suffix), tag in itertools.product(
            (("trained", ""), ("served", " served")), ("", " long")
        ):
            # each ablation against the full model run with the same patience
            ablation = {
                k: v
                for k, v in rows.items()
                if k.endswith(suffix)
                and (name := k.removesuffix(suffix)) in variants
                and (name.endswith(" long") == bool(tag))
            }
            if f"kgrec{tag}{suffix}" in ablation and len(ablation) > 1:
                out += [
                    "",
                    table(
                        ablation,
                        f"kgrec{tag}{suffix}",
                        title=f"ablations on cold users (k = {keep}), {view} vectors"
                        + (", patience 30" if tag else ""),
                    ),
                ]
    return out
