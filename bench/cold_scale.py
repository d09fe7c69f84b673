"""Choose ``TrainConfig.cold_item_scale`` on validation only: cold-valid items and warm valid.

Usage (repo root, after ``bench.coldstart --cold-valid 0.5 --variants "kgrec cold-map"``
has trained its checkpoints under ``--model-dir``)::

    nice -n 5 .venv/bin/python -m bench.cold_scale --data ../shared/data \\
        --model-dir /tmp/kgrec-bench-cold --variant kgreccold-map

For each seed's checkpoint the cold items' vectors are rebuilt with the checkpoint's ridge map
(``models.training.cold_items``) at each scale ``c`` of ``--scales`` (warm vectors are those
training left, so the map is fitted once per checkpoint) and three validation figures are
printed, averaged over seeds: warm valid NDCG@10 (every item ranked, as the trainer selects),
and NDCG@10 of the cold-valid half under ``bench.coldstart``'s ``vs-warm`` and ``cold-only``
protocols. The cold test half is never read. ``c`` trades new items' reach against the warm
ranking: the product default is the largest ``c`` whose warm valid loss stays in the noise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from bench.coldstart import item_cold_split, protocols, split_cold_valid
from bench.peer_runs import evaluate_sides, load_movielens_data
from models.training import Checkpoint, latest_checkpoint
from models.training.cold_items import cold_item_vectors

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/kgrec-bench-cold"))
    parser.add_argument("--variant", default="kgreccold-map", help="model-dir folder prefix")
    parser.add_argument("--seeds", default="2026,1,2")
    parser.add_argument("--scales", default="1.0,0.9,0.8,0.7,0.6,0.5,0.4")
    args = parser.parse_args(argv)

    dataset = load_movielens_data(args.data)
    cold, cold_idx = item_cold_split(dataset, 0.2, 0)
    cold, cold_valid = split_cold_valid(cold, cold_idx, 0.5, 0)
    evals = protocols(cold, cold_idx, cold_valid)
    views = {
        "warm valid": (cold.valid, [cold.train]),
        "cold-valid vs-warm": evals["valid vs-warm"],
        "cold-valid cold-only": evals["valid cold-only"],
    }
    scales = [float(c) for c in args.scales.split(",")]
    figures: dict[float, dict[str, list[float]]] = {c: {v: [] for v in views} for c in scales}
    for seed in args.seeds.split(","):
        path = latest_checkpoint(args.model_dir / f"{args.variant}-s{seed}")
        if path is None:
            raise SystemExit(f"no checkpoint under {args.model_dir}/{args.variant}-s{seed}")
        ckpt = Checkpoint.load(path)
        t = ckpt.tensors
        if "cold_map" not in t:
            raise SystemExit(f"{path} was not trained with cold_item_map")
        x = cold.item_features(ckpt.config.encoder).tensors()["text"][0]
        users = t["users"].float().numpy()
        rows = torch.from_numpy(cold_idx)
        for c in scales:
            items = t["items"].float().clone()
            items[rows] = cold_item_vectors(x[rows], t["cold_map"], t["cold_map_mean"], c)
            for view, (pairs, seen) in views.items():
                _, per_user = evaluate_sides((users, items.numpy()), pairs, seen)
                figures[c][view].append(float(per_user["ndcg@10"].mean()))
    print(f"cold_item_scale on validation ({args.variant}, seeds {args.seeds}; NDCG@10)")
    print(f"{'scale':>5}  " + "  ".join(f"{v:>20}" for v in views))
    for c in scales:
        row = "  ".join(f"{np.mean(figures[c][v]):20.4f}" for v in views)
        print(f"{c:5.2f}  {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
