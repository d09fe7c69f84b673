"""kgrec on the fixed MovieLens-100K split, its ablations, and one table with RecBole's numbers.

Usage (repo root)::

    nice -n 10 .venv/bin/python -m bench.movielens --data ../shared/data
    nice -n 10 .venv/bin/python -m bench.movielens --data ../shared/data --run-recbole --seeds 3
    nice -n 10 .venv/bin/python -m bench.movielens --data ../shared/data --amazon-book

Runs, each trained on ``train.tsv``, early-stopped on valid NDCG@10, reported on ``test.tsv``
with the split README's full-ranking protocol (``models.metrics``):

* ``kgrec`` -- the default ``TrainConfig`` (KG LightGCN, text + image + rating features);
* ``-KG`` / ``-text`` / ``-image`` / ``-rating`` -- the same with one input removed;
  ``-item-item`` -- without the served item-item term (``models.training.item_item``);
* ``--models rgcn`` adds the relational model for comparison.

A second table gives each run's cost to reach a valid NDCG@10 (``bench.cost``): optimizer
steps and training seconds to the first validation at 90/95/100% of EASE^R's valid NDCG@10
(lambda chosen on valid), and the seconds of the item features (text/image encoding, kept out
of training; ``--cold-cache`` encodes into a fresh empty cache folder per run, so that figure
is the cost from an empty cache, not a cache read).

RecBole's side comes from ``bench/out/recbole.json`` (written by ``bench.recbole_runner``;
``--run-recbole`` runs it first). kgrec results are merged into ``bench/out/kgrec.json``;
``--reuse`` prints the table from that file without training.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "bench" / "out"

logger = logging.getLogger("bench.movielens")

#: name -> changes to the default TrainConfig
VARIANTS: dict[str, dict[str, Any]] = {
    "kgrec": {},
    "kgrec -KG": {"model": {"use_kg": False}},
    "kgrec -text": {"encoder": {"use_text": False}},
    "kgrec -image": {"encoder": {"use_image": False}},
    "kgrec -rating": {"encoder": {"use_rating": False}},
    "kgrec -item-item": {"item_item": False},
    "kgrec batch 4096": {"batch_size": 4096},  # TrainConfig.batch_size's alternative
    "kgrec long": {"epochs": 400, "patience": 20},  # TrainConfig's epochs/patience alternative
}
RECBOLE_MODELS = ("BPR", "LightGCN", "KGCN", "KGAT")


def variant(name: str) -> dict[str, Any]:
    """The ``TrainConfig`` changes of run ``name``: one of :data:`VARIANTS`, or
    ``"kgrec KEY=VALUE ..."`` with ``TrainConfig`` fields (``model.`` / ``encoder.`` for
    theirs; values read as JSON, else kept as text), e.g. ``"kgrec model.dim=128 lr=0.005"``:
    a grid point to choose on valid."""
    if name in VARIANTS:
        return VARIANTS[name]
    head, *pairs = name.split()
    if head != "kgrec" or not pairs or not all("=" in p for p in pairs):
        raise SystemExit(f"unknown variant {name!r}: one of {', '.join(VARIANTS)}, or 'kgrec K=V'")
    changes: dict[str, Any] = {}
    for key, _, text in (p.partition("=") for p in pairs):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        *parents, leaf = key.split(".")
        node = changes
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return changes


COLUMNS = (
    ("R@10", "recall@10"),
    ("NDCG@10", "ndcg@10"),
    ("P@5", "precision@5"),
    ("R@5", "recall@5"),
    ("NDCG@5", "ndcg@5"),
)


def _run_variant(
    dataset: Any, name: str, changes: dict[str, Any], args: argparse.Namespace, seed: int | None
) -> dict:
    from models.config import TrainConfig
    from models.training import train_model

    config = TrainConfig().with_changes(**changes, threads=args.threads)
    if seed is not None:
        config = config.with_changes(seed=seed)
    if args.epochs is not None:
        config = config.with_changes(epochs=args.epochs)
    with tempfile.TemporaryDirectory(prefix="kgrec-cold-cache-") as fresh:
        cache_dir = fresh if args.cold_cache else args.cache_dir
        if cache_dir:
            config = config.with_changes(encoder={"cache_dir": str(cache_dir)})
        logger.info("%s: %s", name, config.to_dict())
        t0 = time.monotonic()
        model_dir = args.model_dir / name.replace(" ", "")
        result = train_model(dataset, config, model_dir, progress=False)
    metrics = result.checkpoint.metrics
    return {
        "status": "ok",
        **metrics["test"],
        "best_valid": metrics.get("valid", {}),
        "best_epoch": metrics["best_epoch"],
        "epochs": len(result.history),
        "sec_per_epoch": result.seconds_per_epoch,
        "wall_seconds": time.monotonic() - t0,
        "version": result.checkpoint.version,
        "config": config.to_dict(),
        "feature_coverage": result.checkpoint.extra.get("feature_coverage", {}),
        "history": result.history,
        "valid_curve": result.valid_curve,
        "steps": result.history[-1]["steps"] if result.history else 0,
        "feature_seconds": result.feature_seconds,
        "cold_cache": bool(args.cold_cache),
    }


def _cost(dataset: Any, kgrec: dict[str, dict], recbole: dict[str, dict]) -> list[str]:
    """The cost table (``bench.cost``) against EASE^R's valid NDCG@10, and its notes."""
    from bench.cost import FRACTIONS, cost_table, ease_reference

    ref = ease_reference(dataset)
    rows: dict[str, dict[str, Any]] = {
        "EASE^R": {
            "valid": ref["valid_ndcg@10"],
            "fit_seconds": ref["fit_seconds"],
            "wall": ref["grid_seconds"],
        }
    }
    for model in RECBOLE_MODELS:  # a run that failed or is missing prints n/a too
        res = recbole.get(model, {}) if recbole.get(model, {}).get("status") == "ok" else {}
        rows[f"RecBole {model}"] = {
            "curve": res.get("valid_curve"),
            "epochs": res.get("epochs"),
            "steps": res.get("steps"),
            "wall": res.get("wall_seconds"),
        }
    for name, res in kgrec.items():
        seconds = res.get("feature_seconds")
        where = "cold" if res.get("cold_cache") else "cache"
        rows[name] = {
            "curve": res.get("valid_curve"),
            "epochs": res.get("epochs"),
            "steps": res.get("steps"),
            "features": "" if seconds is None else f"{seconds:.1f} ({where})",
            "wall": res.get("wall_seconds"),
        }
    goals = ", ".join(f"{f:.0%} = {f * ref['valid_ndcg@10']:.4f}" for f in FRACTIONS)
    lines = [
        "",
        f"Cost to reach valid NDCG@10 (targets: EASE^R's valid {ref['valid_ndcg@10']:.4f}, "
        f"lambda {ref['lambda']:g} chosen on valid; {goals})",
        cost_table(rows, ref["valid_ndcg@10"]),
        "steps@X / s@X: optimizer steps and training seconds (validation and feature encoding "
        "excluded) to the first validation at or above X; never: not reached; n/a: no valid "
        "curve recorded",
        f"EASE^R: no steps; s = one closed-form fit at the chosen lambda (choosing it: "
        f"{ref['grid']} fits + valid evaluations, {ref['grid_seconds']:.1f} s)",
        "features s: text/image encoding + rating features before the first epoch; (cold) = "
        "from an empty cache (--cold-cache), (cache) = with the embedding cache as it was "
        "(--cache-dir or ~/.cache/kgrec: a read when it holds the items, else their encoding)",
        "run wall s: kgrec: the whole train_model call (features, epochs, validations, test, "
        "checkpoint); RecBole: its child process; EASE^R: choosing lambda on valid",
    ]
    missing = [n for n, r in rows.items() if n.startswith("RecBole") and not r.get("curve")]
    if missing:
        lines.append(
            f"n/a for {', '.join(missing)}: no valid curve in the RecBole json (not run, "
            "failed, or written before bench.recbole_child recorded valid_curve; "
            "python -m bench.recbole_runner fills it)"
        )
    return lines


def _table(rows: dict[str, dict]) -> str:
    head = ["model", *(c for c, _ in COLUMNS), "best/epochs", "s/epoch", "train s"]
    lines = []
    for name, res in rows.items():
        if res.get("status") != "ok":
            lines.append([name, *(["-"] * len(COLUMNS)), res.get("status", "missing"), "-", "-"])
            continue
        cells = [f"{res[key]:.4f}" for _, key in COLUMNS]
        epochs = f"{res.get('best_epoch', '?')}/{res.get('epochs', '?')}"
        total = res["sec_per_epoch"] * res.get("epochs", 0)
        lines.append([name, *cells, epochs, f"{res['sec_per_epoch']:.2f}", f"{total:.0f}"])
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(
        [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*r) for r in lines]
    )


def _verdicts(kgrec: dict[str, dict], recbole: dict[str, dict]) -> list[str]:
    import numpy as np

    out: list[str] = []
    full = kgrec.get("kgrec", {})
    if full.get("status") != "ok":
        return ["kgrec did not run"]
    seeds: dict[str, list[float]] = {}
    full_rows: list[dict] = []  # the full model, every seed
    for name, res in kgrec.items():
        head, _, tail = name.rpartition(" s")
        base = head if head and tail[:1].isdigit() else name
        seeds.setdefault(base, []).append(res["ndcg@10"])
        if base == "kgrec":
            full_rows.append(res)
    sec_per_epoch = float(np.mean([r["sec_per_epoch"] for r in full_rows]))
    epochs = float(np.mean([r["epochs"] for r in full_rows]))
    ndcg = float(np.mean(seeds["kgrec"]))  # mean over seeds when there are several
    lgcn = recbole.get("LightGCN", {})
    kgat = recbole.get("KGAT", {})
    if lgcn.get("status") == "ok":
        ratio = ndcg / lgcn["ndcg@10"]
        out.append(
            f"NDCG@10 kgrec (mean of {len(seeds['kgrec'])} runs) / RecBole LightGCN = "
            f"{ratio:.3f} (target >= 1.05): "
            f"{'met' if ratio >= 1.05 else 'NOT met'}"
        )
        t_ratio = sec_per_epoch / lgcn["sec_per_epoch"]
        out.append(
            f"s/epoch kgrec (mean of {len(full_rows)} runs, {sec_per_epoch:.3f}) / RecBole "
            f"LightGCN ({lgcn['sec_per_epoch']:.3f}) = {t_ratio:.2f} (target <= 1): "
            f"{'met' if t_ratio <= 1 else 'NOT met'} (compare only runs timed on a quiet machine)"
        )
        total = sec_per_epoch * epochs
        lgcn_total = lgcn["sec_per_epoch"] * lgcn["epochs"]
        out.append(
            f"training seconds to the early stop: kgrec {total:.0f} vs RecBole LightGCN "
            f"{lgcn_total:.0f} ({epochs:.0f} vs {lgcn['epochs']} epochs)"
        )
    if kgat.get("status") == "ok":
        out.append(
            f"NDCG@10 kgrec {ndcg:.4f} vs RecBole KGAT {kgat['ndcg@10']:.4f}: "
            f"{'met' if ndcg >= kgat['ndcg@10'] else 'NOT met'}"
        )
    for base, values in seeds.items():
        if len(values) > 1:
            arr = np.array(values)
            out.append(
                f"{base}: NDCG@10 over {len(arr)} seeds mean {arr.mean():.4f}, "
                f"min {arr.min():.4f}, max {arr.max():.4f}"
            )
    full_runs = np.array(seeds["kgrec"])
    for name in VARIANTS:
        if name == "kgrec" or name not in seeds:
            continue
        runs = np.array(seeds[name])
        # the band is the wider of the two seed spreads: an ablation's early stop can vary
        # more than the full model's
        noise = max(0.002, float(np.ptp(full_runs)), float(np.ptp(runs)))
        delta = float(full_runs.mean() - runs.mean())
        part = name.split("-", 1)[1]
        verdict = "helps" if delta > noise else ("hurts" if delta < -noise else "within seed noise")
        out.append(
            f"{part:<7} contributes {delta:+.4f} NDCG@10 (mean full minus mean '{name}', "
            f"{len(full_runs)} vs {len(seeds[name])} runs; noise band {noise:.4f}): {verdict}"
        )
    return out


def _amazon_epoch(args: argparse.Namespace) -> None:
    """Seconds for one kgrec training epoch on amazon-book (interactions only: its KG file
    is not in ../shared/data), features off, sampled softmax (24,915 items)."""
    import numpy as np

    from models.config import EncoderConfig, TrainConfig
    from models.data import RecDataset
    from models.training import train_model

    root = Path(args.data) / "amazon-book"
    pairs: list[tuple[int, int]] = []
    with (root / "train.txt").open() as f:
        for line in f:
            ids = line.split()
            if len(ids) > 1:
                u = int(ids[0])
                pairs += [(u, int(i)) for i in ids[1:]]
    train = np.array(pairs, dtype=np.int64)
    n_users, n_items = int(train[:, 0].max()) + 1, int(train[:, 1].max()) + 1
    empty = np.zeros((0, 2), np.int64)
    dataset = RecDataset(
        name="amazon-book",
        user_ids=[str(u) for u in range(n_users)],
        item_ids=[str(i) for i in range(n_items)],
        entity_ids=[],
        relations=[],
        train=train,
        valid=empty,
        test=empty,
        item_entity=np.zeros((0, 3), np.int64),
        entity_entity=np.zeros((0, 3), np.int64),
        item_texts=[""] * n_items,
        item_images=[None] * n_items,
        rating_rows=(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)),
    )
    config = TrainConfig(
        encoder=EncoderConfig(use_text=False, use_image=False, use_rating=False),
        sampled_negatives=1024,
        epochs=1,
        threads=args.threads,
    )
    result = train_model(dataset, config, args.model_dir / "amazon-book", progress=False)
    line = (
        f"amazon-book: {n_users} users, {n_items} items, {len(train)} train pairs; "
        f"one kgrec epoch (dim {config.model.dim}, {config.model.num_layers} layers, batch "
        f"{config.batch_size}, sampled softmax 1024): {result.seconds_per_epoch:.1f} s"
    )
    print(line)
    _merge(
        OUT_DIR / "kgrec.json",
        {
            "amazon-book epoch": {
                "status": "timing",
                "sec_per_epoch": result.seconds_per_epoch,
                "summary": line,
            }
        },
    )


def _merge(path: Path, new: dict[str, dict]) -> dict[str, dict]:
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(new)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--recbole-json", type=Path, default=OUT_DIR / "recbole.json")
    parser.add_argument("--run-recbole", action="store_true", help="run bench.recbole_runner first")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of runs")
    parser.add_argument("--models", default="", help="extra registered models, e.g. rgcn")
    parser.add_argument("--seed", type=int, help="another seed; runs are named '<variant> s<seed>'")
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="run every variant with N seeds: the default one, then 1, 2, ... (N-1)",
    )
    parser.add_argument("--epochs", type=int, help="epoch cap (default: TrainConfig's)")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/kgrec-bench"))
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default ~/.cache/kgrec)")
    parser.add_argument(
        "--cold-cache",
        action="store_true",
        help="encode every run's features into a fresh empty cache (timed apart from training)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (RecBole's runner uses 1)"
    )
    parser.add_argument("--reuse", action="store_true", help="print the table from kgrec.json")
    parser.add_argument("--amazon-book", action="store_true", help="time one epoch on amazon-book")
    args = parser.parse_args(argv)
    if args.cold_cache and args.cache_dir:
        parser.error("--cold-cache and --cache-dir exclude each other")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    if args.run_recbole:
        from bench import recbole_runner

        recbole_runner.main(["--data", str(args.data), "--out", str(args.recbole_json)])
    kgrec_path = OUT_DIR / "kgrec.json"
    if args.amazon_book:
        _amazon_epoch(args)
    seeds: list[int | None] = [args.seed]
    if args.seeds > 1:
        seeds = list(dict.fromkeys([*seeds, *range(1, args.seeds)]))
    from models.cli import load_dataset

    ns = argparse.Namespace(data=args.data, split_dir=None, kg_dir=None, side_dir=None)
    dataset = load_dataset(ns)
    if not args.reuse:
        todo = {n: variant(n) for n in args.variants.split(",") if n}
        for extra in filter(None, args.models.split(",")):
            todo[f"kgrec {extra}"] = {"model": {"name": extra}}
        for seed in seeds:
            suffix = f" s{seed}" if seed is not None else ""
            if args.epochs is not None:
                suffix += f" (cap {args.epochs})"
            for name, changes in todo.items():
                row = _run_variant(dataset, name, changes, args, seed)
                _merge(kgrec_path, {name + suffix: row})
    kgrec = json.loads(kgrec_path.read_text()) if kgrec_path.exists() else {}
    kgrec_rows = {k: v for k, v in kgrec.items() if v.get("status") == "ok"}
    recbole = json.loads(args.recbole_json.read_text()) if args.recbole_json.exists() else {}
    rows = {f"RecBole {m}": recbole.get(m, {"status": "missing"}) for m in RECBOLE_MODELS}
    rows.update(kgrec_rows)
    print()
    print(
        "MovieLens-100K fixed split, test set, full ranking "
        "(trained on train, early-stopped on valid NDCG@10)"
    )
    print(_table(rows))
    for line in _verdicts(kgrec_rows, recbole):
        print(line)
    for line in _cost(dataset, kgrec_rows, recbole):
        print(line)
    if "amazon-book epoch" in kgrec:
        print(kgrec["amazon-book epoch"]["summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
