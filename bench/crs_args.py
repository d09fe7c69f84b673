"""The command line of :mod:`bench.crs_bench` (its docstring is the usage): :class:`Options`
and their parsing, and the ``--weights`` syntax :mod:`bench.crs_tune` shares."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgrec.sentence_embedding import INFERENCE_DTYPES
from models.scoring import CoMentionConfig
from models.scoring.comention_config import TERM_GROUPS
from models.scoring.comention_tuning import WeightSearch

__all__ = ["PIPELINES", "Options", "parse_args", "parse_weights"]

#: The served rows' pipelines: the product defaults, or with ``demote_shown`` off.
PIPELINES = ("stock", "not-shown")

USAGE = (
    "Conversational-recommendation benchmark on ReDial-dev and INSPIRED-dev, through the real "
    "server (python -m bench.crs_bench; its docstring says what each row is)."
)


@dataclass
class Options:
    dataset: str
    limit: int | None
    n_folds: int
    mode: str
    scorer: str
    explain: bool
    config: CoMentionConfig | None  # None: CONFIGS[dataset]
    pipelines: tuple[str, ...] = ("stock",)
    pool: int | None = None  # candidates per turn; None: the whole catalog
    text_embeddings: bool = True  # MiniLM title / conversation vectors for the scorer
    #: overrides of the config's fields (``--weights``; ``--without GROUP`` sets ``off_terms``)
    weights: dict[str, Any] = field(default_factory=dict)
    rerank: bool = True  # re-rank the scorer's best items with trees (models.crs.reranker)
    fold_seed: int | None = None  # None: dialogue n in fold n % K; else a seeded random split
    #: standard (every target) and/or repeats-removed (targets named earlier dropped)
    protocols: tuple[str, ...] = ("standard", "repeats-removed")
    #: choose the weights per fold on its training dialogues only (``--select nested``, the
    #: CLI's default) instead of using ``config`` / ``CONFIGS``
    nested: bool = False
    #: the nested search (its ``repeats`` and ``start`` are set per protocol here)
    search: WeightSearch = field(default_factory=WeightSearch)
    #: the served pipeline's ``encoder_dtype`` setting (fits and offline rows stay float32)
    encoder_dtype: str = "auto"
    #: write every row's per-sample ranks here / compare with such a file (bench.crs_paired)
    ranks_out: Path | None = None
    paired_with: Path | None = None
    #: each fold's scorer fitted on this share of its training dialogues (a learning curve)
    train_share: float = 1.0


def parse_args(argv: Sequence[str] | None) -> tuple[Path, Options, str]:
    p = argparse.ArgumentParser(description=USAGE)
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--dataset", choices=["redial", "inspired", "both"], default="both")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N dialogues")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument(
        "--fold-seed",
        type=int,
        default=None,
        help="split the dialogues into folds at random with this seed (default: dialogue n "
        "in fold n %% K), to check that a difference holds on another split",
    )
    p.add_argument("--message", choices=["turn", "history"], default="turn")
    p.add_argument(
        "--protocol",
        choices=["standard", "repeats-removed", "both"],
        default="both",
        help="standard: every recommended movie is a target (ReDial's weights may rank the "
        "seeker's own movies again, with named-item hiding off); repeats-removed: targets "
        "named earlier in the dialogue are dropped and the product defaults serve (named "
        "items hidden, none ranked again). Default: both tables",
    )
    p.add_argument("--scorer", choices=["comention", "none"], default="comention")
    p.add_argument("--explain", action="store_true", help="ask for reasons and KG paths")
    p.add_argument(
        "--pipeline",
        default="stock",
        help="stock: server.pipeline as is (the 'context' variant this bench measured, the "
        "session's earlier entities reaching the scorer, is now part of it); not-shown: the "
        "same with the documented demote_shown setting off (the replayed seeker never saw the "
        "server's lists); several comma-separated, e.g. stock,not-shown",
    )
    p.add_argument(
        "--pool",
        default="300",
        help="candidate pool per turn: N graph candidates plus the scorer's best N for the "
        "conversation (the server's default is 300), or 'catalog' for every movie",
    )
    p.add_argument(
        "--no-text-embeddings",
        action="store_true",
        help="score without the MiniLM title and conversation vectors (ablation)",
    )
    p.add_argument(
        "--weights",
        default="",
        help="override the dataset's scorer settings, e.g. 'w_entity=3,w_near=0' "
        "(CoMentionConfig field names)",
    )
    p.add_argument(
        "--select",
        choices=["nested", "configs"],
        default="nested",
        help="nested (default): each fold's weights are searched on its training dialogues "
        "only (inner folds, from every term weight 1: models/scoring/comention_tuning.py), "
        "as `kgrec train --conversations --tune-weights` does; configs: the dataset's preset "
        "weights (CONFIGS, searched by bench.crs_tune on every dev dialogue, so optimistic)",
    )
    p.add_argument("--inner-folds", type=int, default=4, help="folds of the nested search")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the nested search")
    p.add_argument(
        "--inner-seeker-mentions",
        choices=["search", "off", "on"],
        default="search",
        help="the nested search tries the scorer learning from the seeker's first mentions "
        "off and on (search, twice the time), or only one setting",
    )
    p.add_argument(
        "--no-rerank",
        action="store_true",
        help="rank by the scorer's weighted terms alone, without the tree re-ranker (ablation)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="only the offline rows: no graph import, no server",
    )
    p.add_argument(
        "--encoder-dtype",
        choices=INFERENCE_DTYPES,
        default="auto",
        help="the served pipeline's encoder_dtype setting: the per-turn conversation vector's "
        "MiniLM forward (auto: bfloat16 on a CPU with native bfloat16, as `kgrec serve`)",
    )
    p.add_argument(
        "--train-share",
        type=float,
        default=1.0,
        help="fit each fold's scorer on this share of its training dialogues (a seeded "
        "subset; a smaller share's subset is part of a larger one's), evaluated on the same "
        "held-out fold: a point of the learning curve bench.crs_curve prints",
    )
    p.add_argument(
        "--without",
        choices=sorted(TERM_GROUPS),
        default=None,
        help="ablation: the scorer never computes these terms, for its weights and its "
        "re-ranker alike: kg, the terms that read the knowledge graph (kg, entity, text); "
        "co-mentions, those counted from movie pairs of the dialogues (co, co2, seq) "
        "(models.scoring.comention_config.TERM_GROUPS)",
    )
    p.add_argument("--ranks-out", type=Path, help="write every row's per-sample ranks (JSON)")
    p.add_argument(
        "--paired-with",
        type=Path,
        help="an earlier run's --ranks-out: print each shared row's paired difference",
    )
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(argv)
    if a.paired_with is not None and not a.paired_with.is_file():
        p.error(f"--paired-with: {a.paired_with} is not a file")
    if a.pool != "catalog" and not (a.pool.isdigit() and int(a.pool) > 0):
        p.error("--pool takes a positive number or 'catalog'")
    if a.folds < 2:
        p.error("--folds must be >= 2 (the scorer never sees the dialogues it is scored on)")
    if a.inner_folds < 2:
        p.error("--inner-folds must be >= 2")
    if not 0 < a.train_share <= 1:
        p.error("--train-share must be in (0, 1]")
    pipelines = tuple(dict.fromkeys(x.strip() for x in a.pipeline.split(",") if x.strip()))
    if not pipelines or set(pipelines) - set(PIPELINES):
        p.error(f"--pipeline takes {', '.join(PIPELINES)}")
    pool = None if a.pool == "catalog" else int(a.pool)
    weights: dict[str, Any] = dict(parse_weights(p, a.weights))
    if a.without is not None:
        weights["off_terms"] = TERM_GROUPS[a.without]
    opts = Options(
        a.dataset,
        a.limit,
        a.folds,
        a.message,
        a.scorer,
        a.explain,
        None,
        pipelines,
        pool,
        not a.no_text_embeddings,
        weights,
        not a.no_rerank,
        a.fold_seed,
        ("standard", "repeats-removed") if a.protocol == "both" else (a.protocol,),
        a.select == "nested",
        WeightSearch(
            inner_folds=a.inner_folds,
            rounds=a.rounds,
            seeker_mentions={"search": (False, True), "off": (False,), "on": (True,)}[
                a.inner_seeker_mentions
            ],
        ),
        a.encoder_dtype,
        a.ranks_out,
        a.paired_with,
        a.train_share,
    )
    if a.offline:
        opts.pipelines = ()
    return a.data, opts, a.log_level


def parse_weights(p: argparse.ArgumentParser, spec: str) -> dict[str, float]:
    """``"w_entity=3,w_near=0"`` -> ``{"w_entity": 3.0, "w_near": 0.0}``, names checked."""
    fields = {f.name for f in dataclasses.fields(CoMentionConfig)}
    out: dict[str, float] = {}
    for part in filter(None, (x.strip() for x in spec.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            p.error(f"--weights: {part!r} is not NAME=VALUE with NAME in {sorted(fields)}")
        try:
            out[name] = float(value)
        except ValueError:
            p.error(f"--weights: {value!r} is not a number")
    return out
