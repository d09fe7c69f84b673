"""kgrec against tuned closed-form peers on the fixed MovieLens-100K split, with paired CIs.

Usage (repo root)::

    nice -n 5 .venv/bin/python -m bench.movielens_peers --data ../shared/data --seeds 3
    nice -n 5 .venv/bin/python -m bench.movielens_peers --reuse     # table from the json

Same data, split and protocol as ``bench.movielens`` (``models.data.movielens``, full ranking
by ``models.metrics``, train excluded on valid, train + valid excluded on test):

* ``popularity`` -- training counts;
* ``EASE^R`` -- lambda chosen on **valid** NDCG@10 from ``EASE_GRID``, fitted on train only
  (as kgrec), then test read once;
* ``kgrec`` -- the default ``TrainConfig`` through ``models.training.train_model`` with
  seeds 2026 (the default), 1, 2, ...; ``--variants`` adds ``bench.movielens`` ablations
  and grid points (``"kgrec lr=0.005"``: :func:`bench.movielens.variant`);
* ``RecBole <model>`` / ``RecBole <model> tuned`` -- every run in ``--recbole-json`` (written
  by ``bench.recbole_runner``, on its defaults and with ``--tune``, a small grid chosen on
  valid) whose independent re-evaluation kept per-user figures.

Every row prints its paired per-user NDCG@10 difference against the best peer on valid, with a
bootstrap 95% CI over users (each user's NDCG averaged over a ranker's seeds first); with
ablations, a second table pairs each against the full kgrec.
Per-user results are merged into ``bench/out/peers_warm.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.paired import paired_bootstrap
from bench.peer_runs import (
    EASE_GRID,
    choose_ease,
    evaluate_sides,
    kgrec_rows,
    run_kgrec,
    seeds_for,
    table,
)
from bench.peers import ease, popularity

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "bench" / "out" / "peers_warm.json"

logger = logging.getLogger("bench.movielens_peers")


def _peer_row(sides: Any, dataset: Any, valid: float | None, note: str) -> dict[str, Any]:
    _, per_user = evaluate_sides(sides, dataset.test, [dataset.train, dataset.valid])
    return {
        "ndcg@10": per_user["ndcg@10"].tolist(),
        "recall@10": per_user["recall@10"].tolist(),
        "valid": valid,
        "note": note,
    }


def peers(dataset: Any, grid: tuple[float, ...] = EASE_GRID) -> dict[str, dict[str, Any]]:
    """Popularity and EASE^R (lambda chosen on valid) rows on the test split."""
    pop = popularity(dataset.train, dataset.num_users, dataset.num_items)
    _, pop_valid = evaluate_sides(pop, dataset.valid, [dataset.train])
    lam, valid_by_lam = choose_ease(dataset, grid)
    grid_note = ", ".join(f"{k:g}:{v:.4f}" for k, v in valid_by_lam.items())
    ease_sides = ease(dataset.train, dataset.num_users, dataset.num_items, lam)
    return {
        "popularity": _peer_row(pop, dataset, float(pop_valid["ndcg@10"].mean()), ""),
        "EASE^R": _peer_row(
            ease_sides, dataset, valid_by_lam[lam], f"lambda {lam:g} (valid {grid_note})"
        ),
    }


def recbole_rows(recbole: dict[str, Any], dataset: Any) -> dict[str, dict[str, Any]]:
    """Rows of the RecBole runs in ``recbole`` (``bench.recbole_runner``'s json) that carry
    per-user test figures, each user's value placed where kgrec's arrays have it (the test
    users by index, ascending, as ``models.metrics`` returns them)."""
    users = np.unique(dataset.test[:, 0])
    tokens = [dataset.user_ids[u] for u in users]
    rows: dict[str, dict[str, Any]] = {}
    for name, run in recbole.items():
        check = run.get("checks", {}).get("independent_check", {})
        per_user = check.get("per_user")
        if run.get("status") != "ok" or not per_user:
            continue
        missing = [t for t in tokens if t not in per_user["ndcg@10"]]
        if missing:
            raise ValueError(f"RecBole {name}: no figure for test users {missing[:5]}")
        chosen = run.get("chosen")
        how = "tuned " + ",".join(f"{k}={v:g}" for k, v in chosen.items()) if chosen else "defaults"
        rows[f"RecBole {name}"] = {
            "ndcg@10": np.array([per_user["ndcg@10"][t] for t in tokens]),
            "recall@10": np.array([per_user["recall@10"][t] for t in tokens]),
            "valid": float(run["best_valid"]["ndcg@10"]),
            "note": f"{how}; best/epochs {run['best_epoch']}/{run['epochs']}",
        }
    return rows


def main(argv: list[str] | None = None) -> int:
    from bench.movielens import variant
    from bench.peer_runs import add_run_arguments, load_movielens_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(
        parser,
        data=REPO_ROOT.parent / "shared" / "data",
        model_dir=Path("/tmp/kgrec-bench-peers"),
        out=OUT_PATH,
    )
    parser.add_argument(
        "--recbole-json", type=Path, default=REPO_ROOT / "bench" / "out" / "recbole.json"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    dataset = load_movielens_data(args.data)
    saved: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs: dict[str, Any] = saved.get("kgrec", {})
    if not args.reuse:
        for seed in seeds_for(args.seeds):
            for name in filter(None, args.variants.split(",")):
                key = f"{name} s{seed}"
                if key in runs:
                    continue
                model_dir = args.model_dir / f"{name.replace(' ', '')}-s{seed}"
                runs[key] = run_kgrec(
                    dataset, variant(name), seed=seed, model_dir=model_dir, threads=args.threads
                )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"kgrec": runs}) + "\n")
    rows = peers(dataset)
    if args.recbole_json.exists():
        rows.update(recbole_rows(json.loads(args.recbole_json.read_text()), dataset))
    reference = max(rows, key=lambda n: rows[n]["valid"])  # best peer on VALID
    by_variant = kgrec_rows(runs)
    rows.update(by_variant)
    print()
    print(
        table(
            rows,
            reference,
            title="MovieLens-100K fixed split, test, full ranking (peers chosen on valid)",
        )
    )
    if "kgrec" in rows:
        ratio = rows["kgrec"]["ndcg@10"].mean() / np.mean(rows[reference]["ndcg@10"])
        print(f"kgrec / {reference} NDCG@10 = {ratio:.3f} (issue 17 target >= 1.05 with CI > 0)")
        for peer in sorted(n for n in rows if n.startswith("RecBole ")):  # each graph peer
            if peer != reference:
                d = paired_bootstrap(rows["kgrec"]["ndcg@10"], rows[peer]["ndcg@10"])
                print(f"kgrec vs {peer}: paired dN@10 {d} {d.verdict('better', 'worse')}")
        if "RecBole LightGCN" in rows:  # issue 13: against LightGCN on its defaults
            lgcn = rows["kgrec"]["ndcg@10"].mean() / np.mean(rows["RecBole LightGCN"]["ndcg@10"])
            print(f"kgrec / RecBole LightGCN (defaults) NDCG@10 = {lgcn:.3f} (issue 13: >= 1.10)")
    if "kgrec" in by_variant and len(by_variant) > 1:
        print()
        print(table(by_variant, "kgrec", title="ablations, test (paired vs kgrec)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
