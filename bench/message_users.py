"""Users known only from a one-line message, on the demo store, where the truth is known.

    python -m bench.message_users [--seeds 3] [--shoppers 300] [--products 6000]
                                  [--users 2500] [--top-n 20] [--data-dir DIR] [--out F.json]

Issue 17's last cold-start case: a shopper the recommender has never seen, who says one line.
MovieLens has no such lines, so this runs on the demo store (``kg.demo``), whose interactions
are drawn from latent tastes that stay known: each shopper is the taste of an extra demo user
generated with the same seed (same products), never loaded nor trained on
(:func:`bench.feedback_sim.simulated_users`), relevant = their true top ``--top-n`` products.
Each shopper says two openers, each the first turn of a new anonymous session:

* ``category``: their favourite category in a seeded wording ("show me running shoes"), the
  feedback simulator's opener;
* ``detail``: the same with one colour they like and, when one of their brands makes that
  category, that brand ("show me red running shoes from Nike").

Rankers, NDCG@10 against the true top-N:

* ``popularity``: the store's most interacted products (the message unread);
* ``text-kNN``: content only, MiniLM (the packaged all-MiniLM-L6-v2) cosine between the
  message and each product's text as training assembles it (``models.data.product_text``);
* ``kgrec no model``: ``kgrec serve`` without a checkpoint: the KG's matches to the linked
  entities, then popularity;
* ``kgrec``: ``kgrec serve`` as it starts on the demo store (the small model trained on the
  store's interactions), ``Recommend`` in-process (``Pipeline.recommend_sync``, what the
  servicer calls), ``explore=false``.

Per ``--seeds`` (demo stores from ``--first-seed`` on, each with its own model) the shoppers
are pooled, and kgrec is compared with each other ranker per shopper: the mean difference and
a bootstrap 95% interval over shoppers (``bench.paired``). :func:`message_tables` is what
``bench.coldstart --messages`` prints after the MovieLens tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from bench.feedback_sim import arm_runtime, base_settings, prepare_model, simulated_users
from bench.feedback_sim_users import SimUser, first_message, ndcg_at, turn_rng
from bench.paired import paired_bootstrap

__all__ = ["MESSAGES", "RANKERS", "message_tables", "run_seed", "shopper_messages"]

log = logging.getLogger("bench.message_users")

#: the openers each shopper says (see the module docstring)
MESSAGES = ("category", "detail")
#: the rankers, kgrec last (each is compared with it)
RANKERS = ("popularity", "text-kNN", "kgrec no model", "kgrec")
LIMIT = 10


def shopper_messages(user: SimUser, seed: int) -> dict[str, str]:
    """``{message kind: text}`` for ``user``, seeded per shopper."""
    from kg.demo.brands import BRAND_BY_ID
    from kg.demo.taxonomy import LEAF_BY_ID

    taste = user.taste
    category = user.categories[0]
    slug = LEAF_BY_ID[category].slug
    makers = [BRAND_BY_ID[b].name for b in taste.brands if slug in BRAND_BY_ID[b].categories]
    color = taste.colors[0]
    return {
        "category": first_message(category, turn_rng(seed, user.index, 0, 1)),
        "detail": first_message(
            category, turn_rng(seed, user.index, 0, 1), color=color,
            brand=makers[0] if makers else "",
        ),
    }  # fmt: skip


def _popular(demo: Any, k: int) -> list[str]:
    counts: dict[str, int] = {}
    for row in demo.interactions:
        counts[row["item_id"]] = counts.get(row["item_id"], 0) + 1
    return sorted(counts, key=lambda i: (-counts[i], i))[:k]


def _served(pipeline: Any, message: str) -> list[str]:
    from kgrec.domain import RecommendQuery

    query = RecommendQuery(message, limit=LIMIT, explain=False, explore=False)
    return [item.item_id for item in pipeline.recommend_sync(query).items]


def run_seed(seed: int, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Every shopper's two openers through every ranker on demo store ``seed``; returns
    ``{"messages": {kind: [text per shopper]}, "ndcg": {kind: {ranker: [per shopper]}},
    "kgrec_short": {kind: answers of kgrec with fewer than 10 items}}``."""
    from kg.demo import generate_demo
    from models.data import product_text
    from models.encoders.text_encoder import TextEncoder

    base = base_settings(data_dir, args.products, args.users, seed)
    models = prepare_model(base)
    users = simulated_users(args.products, args.users, seed, args.shoppers, top_n=args.top_n)
    served = generate_demo(seed=seed, n_products=args.products, n_users=args.users)
    said = [shopper_messages(u, seed) for u in users]
    messages = {kind: [s[kind] for s in said] for kind in MESSAGES}

    encoder = TextEncoder(cache_dir=data_dir / "text-cache")
    ids = [p["id"] for p in served.products]
    items = encoder.encode([product_text(p) for p in served.products], progress=True)
    popular = _popular(served, LIMIT)
    ranked: dict[str, dict[str, list[list[str]]]] = {k: {} for k in MESSAGES}
    for kind, texts in messages.items():
        sims = encoder.encode(texts) @ items.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :LIMIT]
        ranked[kind]["popularity"] = [popular] * len(texts)
        ranked[kind]["text-kNN"] = [[ids[j] for j in row] for row in top]
    arms = (("kgrec no model", {"train_model": False}, data_dir / "no-model"),
            ("kgrec", {}, models))  # fmt: skip
    for name, changes, model_dir in arms:
        with arm_runtime(base, name.replace(" ", "-"), changes, model_dir) as runtime:
            for kind, texts in messages.items():
                ranked[kind][name] = [_served(runtime.pipeline, t) for t in texts]
    ndcg = {
        kind: {r: [ndcg_at(shown, u.relevant) for shown, u in zip(rows[r], users, strict=True)]
               for r in RANKERS}
        for kind, rows in ranked.items()
    }  # fmt: skip
    short = {k: sum(len(shown) < LIMIT for shown in rows["kgrec"]) for k, rows in ranked.items()}
    return {"messages": messages, "ndcg": ndcg, "kgrec_short": short}


def message_tables(runs: Sequence[dict[str, Any]], samples: int = 2000) -> list[str]:
    """Markdown lines: per message kind, each ranker's NDCG@10 (shoppers of every run pooled)
    and kgrec's paired difference with each other ranker."""
    n = sum(len(r["messages"][MESSAGES[0]]) for r in runs)
    others = RANKERS[:-1]
    lines = [
        f"Users known only from a one-line message (demo store, {len(runs)} seed(s), {n} "
        f"shoppers; NDCG@10 against each shopper's true top-N; kgrec minus each, paired by "
        "shopper, bootstrap 95% CI):",
        "",
        "| message | " + " | ".join(RANKERS) + " | " + " | ".join(f"kgrec − {o}" for o in others)
        + " |",
        "|---" * (1 + len(RANKERS) + len(others)) + "|",
    ]  # fmt: skip
    for kind in MESSAGES:
        col = {r: np.concatenate([np.asarray(x["ndcg"][kind][r]) for x in runs]) for r in RANKERS}
        diffs = [str(paired_bootstrap(col["kgrec"], col[o], samples=samples)) for o in others]
        means = [f"{col[r].mean():.4f}" for r in RANKERS]
        lines.append(f"| {kind} | " + " | ".join(means + diffs) + " |")
    example = runs[0]["messages"]
    short = ", ".join(f"{k} {sum(r['kgrec_short'][k] for r in runs)}" for k in MESSAGES)
    lines += [
        "",
        "e.g. " + "; ".join(f'{k}: "{example[k][0]}"' for k in MESSAGES),
        f"kgrec answers with fewer than {LIMIT} items (the message's constraints match fewer "
        f"products), of {n}: {short}",
    ]
    return lines


def run_seeds(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    with ExitStack() as stack:
        root = args.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            started = time.perf_counter()
            runs.append(run_seed(seed, args, Path(root) / f"seed{seed}"))
            log.info("seed %d: %.0f s", seed, time.perf_counter() - started)
    return runs


def add_arguments(ap: argparse.ArgumentParser, prefix: str = "") -> None:
    """The options (``prefix`` in front of each name where another command hosts them)."""
    ap.add_argument(f"--{prefix}shoppers", type=int, default=300, help="shoppers per seed")
    ap.add_argument(f"--{prefix}products", type=int, default=6000, help="demo store products")
    ap.add_argument(f"--{prefix}users", type=int, default=2500, help="demo users trained on")
    ap.add_argument(f"--{prefix}top-n", type=int, default=20, help="true top-N for NDCG@10")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="demo stores (seeds F..F+S-1)")
    ap.add_argument(
        "--first-seed", type=int, default=0,
        help="F: the first demo store (choices are made on stores other than the reported)",
    )  # fmt: skip
    add_arguments(ap)
    ap.add_argument("--data-dir", type=Path, help="keep the stores and models here (reused)")
    ap.add_argument("--out", type=Path, help="write per-shopper figures as JSON here")
    args = ap.parse_args(argv)
    for name in ("seeds", "shoppers", "products", "top_n"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    from server.serve import quiet_library_progress

    quiet_library_progress()
    runs = run_seeds(args)
    print("\n".join(message_tables(runs)), flush=True)
    if args.out:
        args.out.write_text(json.dumps(runs) + "\n")
        print(f"per-shopper figures written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
