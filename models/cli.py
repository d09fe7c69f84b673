"""``kgrec train`` and ``kgrec evaluate``: thin wrappers over ``models.training``.

Settings are layered: ``TrainConfig`` defaults (or ``--preset small``) -> ``--config`` JSON
file -> command-line flags. Heavy imports (torch, transformers) happen inside the handlers
so ``kgrec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_evaluate_parser", "add_train_parser", "load_dataset", "metrics_table"]

logger = logging.getLogger(__name__)

DEFAULT_DATA = "../shared/data"
DEFAULT_OUT = Path("var/kgrec/models")
#: ``kgrec train --since`` epochs (``models.training.finetune.DEFAULT_EPOCHS``, not imported
#: here so that ``kgrec --help`` stays fast)
DEFAULT_FINE_TUNE_EPOCHS = 5


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (MovieLens-100K on the fixed split)")
    g.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="folder with movielens-100k-split/, -kg/ and -side/ (default: %(default)s)",
    )
    g.add_argument("--split-dir", type=Path, help="override: the split folder")
    g.add_argument("--kg-dir", type=Path, help="override: the KG folder")
    g.add_argument("--side-dir", type=Path, help="override: the side-information folder")


def load_dataset(args: argparse.Namespace) -> Any:
    """``models.data.movielens.load_movielens`` with the paths from ``--data`` and the overrides."""
    from models.data.movielens import load_movielens

    root = Path(args.data)
    split_dir = args.split_dir or root / "movielens-100k-split"
    kg_dir = args.kg_dir or root / "movielens-100k-kg"
    side_dir = args.side_dir or root / "movielens-100k-side"
    if not (split_dir / "train.tsv").exists():
        from kgrec.errors import ConfigError

        raise ConfigError(f"no train.tsv under {split_dir} (see --data / --split-dir)")
    return load_movielens(
        split_dir, kg_dir if kg_dir.exists() else None, side_dir if side_dir.exists() else None
    )


def metrics_table(metrics: dict[str, float], ks: tuple[int, ...] = (5, 10, 20)) -> str:
    """A small text table: one row per metric, one column per cut-off."""
    names = ("recall", "ndcg", "precision", "hit", "mrr")
    lines = ["metric     " + "".join(f"{'@' + str(k):>9}" for k in ks)]
    for name in names:
        cells = [metrics.get(f"{name}@{k}") for k in ks]
        lines.append(
            f"{name:<11}" + "".join(f"{c:>9.4f}" if c is not None else " " * 9 for c in cells)
        )
    for name in ("rmse", "mae"):
        if name in metrics:
            lines.append(f"{name:<11}{metrics[name]:>9.4f}")
    return "\n".join(lines)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def build_config(args: argparse.Namespace) -> Any:
    """Defaults/preset -> ``--config`` file -> flags."""
    from models.config import TrainConfig

    config = TrainConfig.small() if args.preset == "small" else TrainConfig()
    if args.config:
        file_values = json.loads(Path(args.config).read_text())
        config = TrainConfig.from_dict({**config.to_dict(), **file_values})
    top: dict[str, Any] = {}
    model: dict[str, Any] = {}
    encoder: dict[str, Any] = {}
    for flag, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
                      ("loss", "loss"), ("device", "device"), ("patience", "patience"),
                      ("max_seconds", "max_seconds"), ("seed", "seed"),
                      ("threads", "threads"), ("cold_item_scale", "cold_item_scale")):  # fmt: skip
        if getattr(args, flag) is not None:
            top[key] = getattr(args, flag)
    for flag, key in (("model", "name"), ("dim", "dim"), ("layers", "num_layers")):
        if getattr(args, flag) is not None:
            model[key] = getattr(args, flag)
    if args.cold_item_map:
        top["cold_item_map"] = True
    if args.no_item_item:
        top["item_item"] = False
    if args.no_kg:
        model["use_kg"] = False
    for modality in ("text", "image", "rating"):
        if getattr(args, f"no_{modality}"):
            encoder[f"use_{modality}"] = False
    if args.cache_dir:
        encoder["cache_dir"] = str(args.cache_dir)
    return config.with_changes(**top, model=model, encoder=encoder)


def _train_conversations(args: argparse.Namespace) -> int:
    """``kgrec train --conversations PATH``: fit the conversational scorer on every dialogue of
    a ReDial folder, an INSPIRED ``tsv`` or a JSONL conversation log, and save it under
    ``OUT/<version>`` (``kgrec serve --model-dir OUT`` loads it)."""
    import time

    from models.crs.conversation_corpus import read_corpus
    from models.scoring.comention_training import fit_comention

    started = time.perf_counter()
    movie_list = Path(args.movie_list) if args.movie_list else None
    corpus = read_corpus(Path(args.conversations), args.format, movie_list)
    print(
        f"{corpus.name}: {len(corpus.dialogues)} dialogues, {len(corpus.item_ids)} items, "
        f"{sum(1 for e in corpus.item_entities.values() if e)} with KG links",
        file=sys.stderr,
    )
    tune = None
    if args.tune_weights:
        from models.scoring.comention_tuning import WeightSearch

        tune = WeightSearch(repeats=args.tune_weights == "standard")
    scorer = fit_comention(
        corpus,
        rerank=not args.no_rerank,
        text=not args.no_text,
        cache_dir=args.cache_dir,
        tune=tune,
    )
    if tune is not None:
        print(f"weights searched on the training dialogues: {scorer.config}", file=sys.stderr)
    path = scorer.save(Path(args.out) / scorer.version)
    print(f"checkpoint: {path}")
    print(f"version: {scorer.version}")
    print(f"seconds: {time.perf_counter() - started:.1f}")
    return 0


def _since_checkpoint(value: Path) -> tuple[Path, Path]:
    """``--since``: a checkpoint folder, or a model dir (its newest checkpoint); returns the
    checkpoint and the model dir the fine-tuned one goes to by default."""
    from kgrec.errors import ConfigError
    from models.training.checkpoint import META, latest_checkpoint

    if (value / META).exists():
        return value, value.parent
    newest = latest_checkpoint(value)
    if newest is None:
        raise ConfigError(f"--since {value}: no checkpoint there")
    return newest, value


def _train_since(args: argparse.Namespace) -> int:
    """``kgrec train --since CHECKPOINT``: fine-tune on the graph's interactions and the
    feedback events logged since (``models/training/finetune.py``)."""
    from kg.admin import open_graph, resolve_data_dir
    from models.training.finetune import fine_tune, graph_rows

    checkpoint, model_dir = _since_checkpoint(Path(args.since))
    out = Path(args.out) if args.out else model_dir
    with open_graph(args) as store:
        rows = graph_rows(store)
    print(
        f"graph: {len(rows.products)} products, {len(rows.interactions)} interactions; "
        f"fine-tuning {checkpoint.name}",
        file=sys.stderr,
    )
    result = fine_tune(
        checkpoint, rows, out, epochs=args.epochs or DEFAULT_FINE_TUNE_EPOCHS, lr=args.lr,
        max_seconds=args.max_seconds, image_root=resolve_data_dir(args),
        cache_dir=args.cache_dir, progress=not args.quiet,
    )  # fmt: skip
    for record in result.history:
        print(json.dumps(record))
    meta = result.checkpoint.extra
    print(f"checkpoint: {result.checkpoint_dir}")
    print(f"version: {result.checkpoint.version}")
    print(f"fine-tuned from: {meta['fine_tuned_from']} ({meta['events_since']} events since)")
    print(f"seconds/epoch: {result.seconds_per_epoch:.2f} over {len(result.history)} epochs")
    print("serve it: kgrec admin reload (or SIGHUP to kgrec serve)")
    return 0


def _train(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    if args.conversations and args.since:
        from kgrec.errors import ConfigError

        raise ConfigError("--since and --conversations cannot be combined")
    if args.since:
        return _train_since(args)
    if args.out is None:
        args.out = DEFAULT_OUT
    if args.conversations:
        return _train_conversations(args)
    from models.training import train_model

    config = build_config(args)
    dataset = load_dataset(args)
    print(dataset.summary(), file=sys.stderr)
    result = train_model(dataset, config, args.out, resume=args.resume, progress=not args.quiet)
    for record in result.history:
        print(json.dumps(record))
    print(f"checkpoint: {result.checkpoint_dir}")
    print(f"version: {result.checkpoint.version}")
    print(f"seconds/epoch: {result.seconds_per_epoch:.2f} over {len(result.history)} epochs")
    extra, chosen = result.checkpoint.extra, result.checkpoint.metrics.get("item_item", {})
    if "valid_ndcg@10_gnn_alone" in chosen:
        kept = extra.get("item_item_weight")
        term = f"lambda {extra['item_item_lambda']:g}, w {kept:g}" if kept else "none kept"
        alone = chosen["valid_ndcg@10_gnn_alone"]
        print(f"item-item term (chosen on valid): {term}; valid NDCG@10 without it {alone:.4f}")
    for split in ("valid", "test"):
        if split in result.checkpoint.metrics:
            print(f"\n{split} (full ranking):")
            print(metrics_table(result.checkpoint.metrics[split]))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    from kgrec.errors import ConfigError
    from models.training import Checkpoint, evaluate_checkpoint, latest_checkpoint

    path = args.checkpoint or latest_checkpoint(args.model_dir)
    if path is None:
        raise ConfigError(f"no checkpoint under {args.model_dir}")
    checkpoint = Checkpoint.load(path)
    dataset = load_dataset(args)
    metrics = evaluate_checkpoint(checkpoint, dataset, args.split)
    if args.json:
        print(json.dumps({"version": checkpoint.version, "split": args.split, **metrics}))
    else:
        print(f"{checkpoint.version} on {dataset.name} {args.split} (full ranking):")
        print(metrics_table(metrics))
    return 0


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """``kgrec train``: train on MovieLens-100K (fixed split) and write a checkpoint."""
    p = subparsers.add_parser("train", help="train the recommender and write a checkpoint")
    _add_data_arguments(p)
    conv = p.add_argument_group("conversations (instead of MovieLens interactions)")
    conv.add_argument(
        "--conversations",
        type=Path,
        help="train the conversational scorer on a ReDial folder, an INSPIRED .tsv or a JSONL "
        "conversation log (format: models/crs/conversation_log.py)",
    )
    conv.add_argument("--format", choices=("redial", "inspired", "jsonl"), help="default: guessed")
    conv.add_argument(
        "--movie-list",
        type=Path,
        help="INSPIRED: a movie CSV whose titles join the catalog, the one given to "
        "kgrec graph import inspired --movie-list (the scorer and the graph must list the "
        "same items)",
    )
    conv.add_argument("--no-rerank", action="store_true", help="no tree re-ranker")
    conv.add_argument(
        "--tune-weights",
        nargs="?",
        const="repeats-removed",
        choices=("repeats-removed", "standard"),
        help="search the scorer's weights on inner folds of these dialogues (from every "
        "weight 1) instead of the corpus kind's preset: for the product default "
        "(repeats-removed: the shopper's own items not recommended again) or for ReDial's "
        "standard protocol (re-mentions count; ranks them again)",
    )
    since = p.add_argument_group(
        "fine-tune (instead of a full train on MovieLens)",
        "Continue training a GNN checkpoint on the graph kgrec serve uses: its interactions "
        "and the feedback events logged since. Default 5 epochs, every event trained on (no "
        "held-out split). New users, items and entities get new embedding rows (initialised "
        "as a fresh run would, then trained); known ones start from the checkpoint. The "
        "result goes next to the checkpoint with a new version: `kgrec admin reload` (or "
        "SIGHUP) makes a running server serve it.",
    )
    since.add_argument(
        "--since",
        type=Path,
        metavar="CHECKPOINT",
        help="a checkpoint folder, or a model dir (its newest checkpoint)",
    )
    since.add_argument("--data-dir", help="the graph's data dir (default $KGREC_DATA_DIR or "
                       "var/kgrec), as for kgrec serve")  # fmt: skip
    since.add_argument("--uri", help="a graph store URI instead of the embedded one")
    since.add_argument("--graph", default="kgrec", help="graph name (default kgrec)")
    p.add_argument(
        "--out",
        type=Path,
        help=f"model folder; the checkpoint goes to OUT/<version> (default: {DEFAULT_OUT}; "
        "with --since the checkpoint's own model folder)",
    )
    p.add_argument("--preset", choices=("default", "small"), default="default")
    p.add_argument("--config", type=Path, help="JSON file with TrainConfig fields")
    p.add_argument("--model", help="registered model name (lightgcn, rgcn)")
    p.add_argument("--dim", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--epochs", type=int, help="default: the preset's; 5 with --since")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--loss", choices=("softmax", "bpr"))
    p.add_argument("--patience", type=int)
    p.add_argument("--max-seconds", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threads", type=int, help="torch CPU threads while training")
    p.add_argument(
        "--cold-item-map",
        action="store_true",
        help="serve items without interactions (and added ones) by a text-to-CF ridge map",
    )
    p.add_argument("--cold-item-scale", type=float, help="length of a mapped item's vector")
    p.add_argument("--no-kg", action="store_true", help="ablation: no KG edges")
    p.add_argument("--no-text", action="store_true", help="ablation: no text features")
    p.add_argument("--no-image", action="store_true", help="ablation: no image features")
    p.add_argument("--no-rating", action="store_true", help="ablation: no rating features")
    p.add_argument(
        "--no-item-item",
        action="store_true",
        help="no EASE^R item-item term beside the GNN (default: chosen on valid)",
    )
    p.add_argument("--cache-dir", type=Path, help="embedding cache (default ~/.cache/kgrec)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log every epoch")
    p.set_defaults(func=_train)
    return p


def add_evaluate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """``kgrec evaluate``: full-ranking metrics of a checkpoint on valid or test."""
    p = subparsers.add_parser("evaluate", help="full-ranking metrics of a checkpoint")
    _add_data_arguments(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--checkpoint", type=Path, help="a checkpoint folder")
    where.add_argument("--model-dir", type=Path, default=Path("var/kgrec/models"),
                       help="use the newest checkpoint here (default: %(default)s)")  # fmt: skip
    p.add_argument("--split", choices=("test", "valid"), default="test")
    p.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_evaluate)
    return p
