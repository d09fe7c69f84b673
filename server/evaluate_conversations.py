"""``kgrec evaluate --conversations FILE``: replay logged dialogues through the served pipeline.

The server is the one ``kgrec serve`` would start on the same settings (its graph in
``--data-dir``, the newest model in the model dir or ``--checkpoint``, the same builder), served
on a free loopback port; every dialogue is replayed by :func:`server.replay.replay` and Recall@1,
@10 and @50 are printed under both protocols: every target (standard), and without the
targets an earlier message named (repeats removed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from kgrec.errors import ConfigError

from .replay import HEADER, KS, ROW_WIDTH, Tally, serve_and_replay
from .settings import Settings

__all__ = ["add_conversation_arguments", "evaluate_conversations", "run"]

log = logging.getLogger(__name__)


def add_conversation_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("conversations (replayed through the served pipeline)")
    g.add_argument(
        "--conversations",
        type=Path,
        help="replay these dialogues (ReDial folder, INSPIRED .tsv or JSONL log) instead of "
        "ranking MovieLens",
    )
    g.add_argument("--format", dest="conv_format", choices=("redial", "inspired", "jsonl"))
    g.add_argument("--data-dir", type=Path, default=Path("var/kgrec"), help="the served graph")
    g.add_argument("--limit", type=int, help="replay the first N dialogues")


def evaluate_conversations(
    settings: Settings, path: Path, fmt: str | None = None, limit: int | None = None
) -> tuple[str, Tally]:
    """(model version, the replay's tally) of the dialogues at ``path`` served on ``settings``."""
    from models.crs.conversation_corpus import read_corpus

    from .serve import build_runtime

    corpus = read_corpus(path, fmt)
    dialogues = corpus.dialogues[:limit] if limit else corpus.dialogues
    runtime = build_runtime(settings)
    try:
        scorer = runtime.pipeline.scorer
        catalog = set(scorer.item_ids) if scorer is not None else set(corpus.item_ids)
        tally = asyncio.run(
            serve_and_replay(runtime.pipeline, dialogues, catalog, "turn", False, settings)
        )
        return runtime.pipeline.model_version, tally
    finally:
        runtime.close()


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be >= 1")
    changes: dict[str, object] = {"data_dir": args.data_dir, "demo": False}
    if args.checkpoint:
        changes["model_dir"] = str(args.checkpoint)
    elif args.model_dir != Path("var/kgrec/models"):
        changes["model_dir"] = str(args.model_dir)
    settings = Settings.load().replace(**changes, train_model=False)
    started = time.perf_counter()
    version, tally = evaluate_conversations(
        settings, args.conversations, args.conv_format, args.limit
    )
    fresh = tally.without_repeats()
    print(
        f"{version} on {args.conversations}: {tally.dialogues} dialogues, {tally.turns} turns, "
        f"replayed in {time.perf_counter() - started:.0f} s "
        f"(hide_named_items {settings.hide_named_items})"
    )
    print(HEADER)
    print(tally.row("standard (every target)"))
    print(fresh.row("repeats removed"))
    for name, t in (("standard", tally), ("repeats removed", fresh)):
        spans = "  ".join("R@{} [{:.3f}, {:.3f}]".format(k, *t.interval(k)) for k in KS[1:])
        print(f"  95% {name:<{ROW_WIDTH - 6}} {spans}")
    sys.stdout.flush()
    return 0
