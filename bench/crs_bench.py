"""Conversational-recommendation benchmark on ReDial-dev and INSPIRED-dev, through the real server.

    .venv/bin/python -m bench.crs_bench --data ../shared/data [--dataset redial|inspired|both]
        [--protocol standard|repeats-removed|both] [--limit N] [--folds K] [--fold-seed S]
        [--message turn|history] [--scorer comention|none] [--weights NAME=VALUE,...]
        [--no-rerank] [--offline] [--select nested|configs] [--inner-folds K] [--rounds R]
        [--inner-seeker-mentions search|off|on] [--ranks-out FILE] [--paired-with FILE]
        [--train-share S] [--without kg]    (a learning curve's point: bench.crs_curve)

Per dataset:

1. The movies (ReDial: + KGSF's DBpedia neighbourhood) are imported into a fresh embedded
   FalkorDB in a temporary data dir (the importers ``kgrec graph import redial|inspired``
   runs). A catalog is never built from the dialogues being scored: ReDial's is its movie
   table (one graph for every fold); INSPIRED has none, so each fold imports a graph of its
   own from a file of its training dialogues with ReDial's movie table as the movie list
   (``kgrec graph import inspired TRAIN.tsv --movie-list movies_with_mentions.csv``), and
   its scorer is fitted on the same catalog (``kgrec train --conversations TRAIN.tsv
   --movie-list ...``). Targets outside the fold's catalog are misses; the table prints
   the coverage (share of evaluated targets in their fold's catalog).
2. Dialogues are split into ``K`` folds by position (dialogue ``n`` is in fold ``n % K``;
   ``--fold-seed S`` splits at random instead). For fold ``f`` the conversational scorer is
   fitted on the dialogues of the other folds only, by the fit ``kgrec train --conversations``
   runs (:func:`models.scoring.comention_training.fit_comention`: popularity, co-mentions,
   words, KG, MiniLM title / conversation vectors, the cross-fitted tree re-ranker); the
   pipeline over the graph with that scorer is built by :func:`server.builder.build_pipeline`
   (what ``kgrec serve`` builds), served by the real gRPC server on a free loopback port, and
   fold ``f``'s dialogues are replayed through the generated stubs.
3. Replay, one session per dialogue, messages in order:

   * every seeker message is one ``Recommend`` call. ``--message turn`` (default) sends just
     that message; ``--message history`` sends the dialogue so far (both sides, newest last,
     cut to the server's 2,000 characters) as CRSLab/UniCRS give their models. Movie mentions
     are written as titles in both (ReDial ``@id`` -> ``"Title (Year)"``).
   * the recommender's earlier movie mentions go with the next call as ``context_item_ids``
     ("items the message refers to"); its words only reach the server in ``history`` mode.
   * at a recommender message with targets (ReDial: a mentioned movie whose
     ``respondentQuestions[id].suggested == 1``; INSPIRED: a movie the recommender is first
     to mention), the ranking (``limit=50``) of the latest call is scored; if the recommender
     mentioned movies since that call, one more call (empty message, those movies as
     ``context_item_ids``) is made first. With no call yet, ``"hello"`` is sent.
     Each (turn, target) pair is one sample: Recall@k = share of samples whose target is in
     the top k; targets outside the catalog count as misses.
4. Two protocols (``--protocol``, default both):

   * standard: every target counts. ReDial counts a recommender re-mentioning a movie the
     seeker named as a recommendation, so ReDial's weights rank the context movies again
     (``w_self``) and the run turns the documented ``hide_named_items`` setting off.
   * repeats removed (rows ending ``[no repeats]``): samples whose target an earlier message
     of the dialogue named are dropped (Kostric & Balog's ReDial reproducibility study), and
     the pipeline serves with the product defaults: named items hidden, ``w_self`` 0.

   Each turn ranks ``candidate_pool`` (300) graph candidates plus the scorer's best 300 for
   the conversation (the server's default widening; ``--pool``). ``--pipeline
   stock,not-shown`` adds rows served with the documented ``demote_shown`` setting off: the
   replayed seeker never saw the server's earlier lists, so the product's "shown and passed
   over ranks lower" rule would act on lists nobody saw (the ``stock`` rows keep it on).
5. The weights (``--select``): ``nested`` (default) searches each fold's weights on its
   training dialogues only, per protocol, the way ``kgrec train --conversations
   --tune-weights`` does (:mod:`models.scoring.comention_tuning`: ``--inner-folds`` folds of
   the training dialogues, each scored by a scorer counted on the others; coordinate search
   from the product defaults with every term weight 1; ``seeker_mentions`` tried off and on
   unless ``--inner-seeker-mentions`` fixes it); the weights chosen are printed per fold.
   ``configs``: the dataset's preset (``CONFIGS``), searched by ``bench.crs_tune`` on every
   dev dialogue, so its figures are optimistic. ``--weights`` overrides the preset, or the
   nested search's start. Each fold's scorer is what ``kgrec train --conversations`` fits
   on its training dialogues, nothing more: no popularity from outside them (ReDial's
   ``nbMentions`` counts its test dialogues too, which a model scored on them must not
   see). ``--no-text-embeddings`` and ``--no-rerank`` are ablations.
6. A popularity row (training-fold suggestion and mention counts, whole catalog, no
   server) and an offline row (the same scorer given the ideal context — every movie
   mentioned so far and the seeker's words — without the server) put the served number in
   context.

Latency is the client-side round trip of each ``Recommend`` call (p50 over all calls).
Under the table, each row's 95% interval of Recall@10 and @50 (bootstrap over dialogues): on
ReDial-dev it spans about +-0.015 around R@10, so smaller differences between settings are
not evidence either way. ``--offline`` prints the offline rows alone (no graph, no server).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from bench.crs_args import Options, parse_args
from bench.crs_paired import paired_lines, save_ranks
from bench.crs_setup import DATASETS, BenchData, after_serving, folds, graph, make_pipeline
from kg.store import GraphStore
from models.crs import CrsDialogue, target_turns
from models.scoring import CoMentionConfig, CoMentionScorer
from models.scoring.comention_training import (
    PRESETS,
    corpus_text_encoder,
    fit_comention,
    title_vectors,
    tune_comention,
)
from models.scoring.comention_tuning import TERMS, neutral_config
from server.builder import LINKABLE_LABELS
from server.replay import (
    HEADER,
    KS,
    ROW_WIDTH,
    Tally,
    rank_of,
    serve_and_replay,
)

log = logging.getLogger(__name__)

POPULARITY_ROW = "popularity (offline)"
OFFLINE_ROW = "scorer, ideal context (offline)"
#: The scorer's weights per dataset: the presets ``kgrec train --conversations`` fits with
#: (how they were searched, and the figures behind them, are in ``bench/RESULTS.md``).
CONFIGS = {"redial": PRESETS["redial"], "inspired": PRESETS["inspired"]}


# -- metrics ------------------------------------------------------------------------------------


# -- offline rows -------------------------------------------------------------------------------


def offline_tally(
    scorer: CoMentionScorer, dialogues: Sequence[CrsDialogue], use_context: bool
) -> Tally:
    """Rank the whole catalog at every target turn without the server.

    ``use_context``: the ideal context of :func:`target_turns` (the best the served pipeline
    can reach); else popularity only.
    """
    tally = Tally()
    catalog = set(scorer.item_ids)
    popular: list[str] = []  # the popularity term alone, whatever its weight in the scorer
    if not use_context:
        pop = scorer.terms([], every=True).get("pop", np.zeros(len(scorer.item_ids)))
        popular = [scorer.item_ids[i] for i in np.argsort(-pop, kind="stable")[: max(KS)]]
    for d in dialogues:
        before = len(tally.ranks)
        for m, context, conversation in target_turns(d):
            tally.turns += 1
            top = popular
            if use_context:
                s = scorer.scores(context, conversation)
                top = [scorer.item_ids[i] for i in np.argsort(-s, kind="stable")[: max(KS)]]
            for t in m.targets:
                tally.in_catalog += t in catalog
                tally.add_sample(rank_of(t, top), t in context)
        tally.add_dialogue(len(tally.ranks) - before)
    return tally


# -- driver -------------------------------------------------------------------------------------


def served_row(opts: Options, pipeline: str = "stock") -> str:
    pool = "catalog" if opts.pool is None else f"pool {opts.pool}"
    return f"served {pipeline}: {opts.scorer}, {opts.mode}, {pool}"


def fold_scorer(
    data: BenchData,
    train: Sequence[CrsDialogue],
    f: int,
    config: CoMentionConfig,
    vectors: np.ndarray | None,
    rerank: bool = True,
    *,
    encode_text: Any = None,
) -> CoMentionScorer:
    """The scorer for fold ``f`` over ``data``'s catalog (the fold's own, from
    :meth:`~bench.crs_setup.BenchData.for_fold`), fitted on ``train`` (the dialogues of the
    other folds) by the fit ``kgrec train --conversations`` runs
    (:func:`models.scoring.fit_comention`)."""
    return fit_comention(
        data.corpus,
        train,
        config,
        rerank=rerank,
        text=vectors is not None,
        vectors=vectors,
        version=f"crs-comention-fold{f}",
        encode_text=encode_text,
    )


def text_embeddings(data: BenchData) -> np.ndarray:
    """MiniLM vectors of the catalog titles, cached under ``bench/out/cache``."""
    return title_vectors(data.titles, Path(__file__).resolve().parent / "out" / "cache")


NO_REPEATS = " [no repeats]"


def protocol_runs(
    config: CoMentionConfig, protocols: Sequence[str]
) -> list[tuple[str, CoMentionConfig, bool]]:
    """``(row suffix, scorer config, hide named items)`` of each run the protocols need.

    Standard: the dataset's weights; named items are hidden unless the weights rank them again
    (``w_self``: ReDial counts a re-mention as a recommendation). Repeats removed: the product
    defaults, named items hidden and not ranked again (``w_self = 0``), scored on the samples
    whose target no earlier message named. When the two runs would be the same run (no
    ``w_self``), it runs once and both tables are read from it."""
    runs: list[tuple[str, CoMentionConfig, bool]] = []
    if "standard" in protocols:
        runs.append(("", config, config.w_self == 0))
    if "repeats-removed" in protocols:
        runs.append((NO_REPEATS, dataclasses.replace(config, w_self=0.0), True))
    return runs


def describe(config: CoMentionConfig) -> str:
    """The searched fields of ``config``, short: ``pop=1 co=2 ... seeker_mentions=True``."""
    on = [t for t in (*TERMS, "entity") if t not in config.off_terms]
    w = " ".join(f"{t}={getattr(config, 'w_' + t):.3g}" for t in on)
    return f"{w} seeker_mentions={config.seeker_mentions}"


def nested_runs(
    data: BenchData,
    opts: Options,
    f: int,
    train: Sequence[CrsDialogue],
    vectors: np.ndarray | None,
    encode: Any,
) -> list[tuple[str, CoMentionConfig, bool]]:
    """:func:`protocol_runs` with the weights searched on the fold's training dialogues
    (``--select nested``; :func:`models.scoring.comention_training.tune_comention`, what
    ``kgrec train --conversations --tune-weights`` runs): from the product defaults with every
    term weight 1 (``--weights`` overrides applied to that start), on the standard protocol's
    samples (``w_self`` searched; named items hidden only if it comes out 0) or on the
    repeats-removed ones (``w_self`` held at 0, named items hidden)."""
    start = dataclasses.replace(neutral_config(), **opts.weights)
    wanted = {p: p == "standard" for p in opts.protocols}
    tuned = tune_comention(
        data.corpus, train, dataclasses.replace(opts.search, start=start),
        tuple(wanted.values()), text=vectors is not None, vectors=vectors, encode_text=encode,
    )  # fmt: skip
    runs = []
    for protocol, repeats in wanted.items():
        config = tuned[repeats]
        print(f"{data.name} fold {f}, {protocol}: weights chosen on its {len(train)} training "
              f"dialogues: "
              f"{describe(config)}")  # fmt: skip
        suffix = "" if repeats else NO_REPEATS
        runs.append((suffix, config, not repeats or config.w_self == 0))
    sys.stdout.flush()
    return runs


def run_dataset(data: BenchData, opts: Options, parser: Any = None) -> dict[str, Tally]:
    """The table's rows for one dataset and protocol: offline popularity, offline scorer,
    served pipeline(s); rows of the repeats-removed protocol end in ``[no repeats]``.

    Each fold's recommender — catalog, graph and scorer — is built from its training
    dialogues only (:meth:`bench.crs_setup.BenchData.for_fold`); a dataset whose catalog
    depends on the dialogues (INSPIRED) imports a graph per fold."""
    n = len(data.dialogues)
    fold_of = folds(n, opts.n_folds, opts.fold_seed)
    evaluated = list(range(n if opts.limit is None else min(n, opts.limit)))
    config = dataclasses.replace(opts.config or CONFIGS[opts.dataset], **opts.weights)
    runs = protocol_runs(config, opts.protocols)
    names = [POPULARITY_ROW, OFFLINE_ROW, *(served_row(opts, kind) for kind in opts.pipelines)]
    rows = {name + suffix: Tally() for suffix, _, _ in runs for name in names}
    uses_text = config.w_title or config.w_query or config.w_near
    wanted = opts.text_embeddings and bool(uses_text) and bool(data.titles)
    if opts.nested:  # the search starts with every term weighted, the text ones too
        wanted = opts.text_embeddings and bool(data.titles)
    # one conversation encoder for every fit of the run: each text is encoded once
    encode = corpus_text_encoder() if wanted else None
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crs-bench-")))
        shared: tuple[GraphStore, Any] | None = None  # the graph of a per-dataset catalog
        for f in range(opts.n_folds):
            test = [data.dialogues[i] for i in evaluated if fold_of[i] == f]
            if not test:
                continue
            fold_data, train = data.for_fold(fold_of, f, tmp, opts.train_share)
            catalog = set(fold_data.item_ids)
            targets = [t for d in test for m in d.messages for t in m.targets]
            print(f"{data.name} fold {f}: catalog {len(catalog)} items, fitted on "
                  f"{len(train)} training dialogues; {sum(t in catalog for t in targets)} of "
                  f"its {len(targets)} evaluated targets in it")  # fmt: skip
            vectors = text_embeddings(fold_data) if wanted else None
            pool = len(catalog) + 10 if opts.pool is None else opts.pool
            with ExitStack() as fold_stack:
                store, lexicon, data_dir = None, None, tmp
                if opts.pipelines and data.per_fold:  # the offline rows need no graph
                    data_dir = tmp / f"fold{f}"
                    data_dir.mkdir()
                    store = fold_stack.enter_context(graph(fold_data, data_dir))
                    lexicon = store.lexicon(LINKABLE_LABELS)  # what `kgrec serve` links against
                elif opts.pipelines:
                    if shared is None:
                        one = stack.enter_context(graph(data, tmp))
                        shared = (one, one.lexicon(LINKABLE_LABELS))
                    store, lexicon = shared
                if opts.nested:
                    runs = nested_runs(fold_data, opts, f, train, vectors, encode)
                done: dict[tuple[CoMentionConfig, bool], dict[str, Tally]] = {}
                for suffix, run_config, hide in runs:
                    key = (run_config, hide)
                    if key not in done:
                        done[key] = _fold_rows(
                            fold_data, opts, train, f, test, run_config, hide, vectors,
                            store, lexicon, parser, pool, catalog, data_dir, encode,
                        )  # fmt: skip
                    for name, tally in done[key].items():
                        rows[name + suffix].merge(tally.without_repeats() if suffix else tally)
    return rows


def _fold_rows(
    data: BenchData,
    opts: Options,
    train: Sequence[CrsDialogue],
    f: int,
    test: Sequence[CrsDialogue],
    config: CoMentionConfig,
    hide: bool,
    vectors: np.ndarray | None,
    store: GraphStore | None,
    lexicon: Any,
    parser: Any,
    pool: int,
    catalog: set[str],
    data_dir: Path | None,
    encode: Any = None,
) -> dict[str, Tally]:
    """Fold ``f``'s rows with one scorer config and one ``hide_named_items`` setting."""
    scorer = fold_scorer(data, train, f, config, vectors, opts.rerank, encode_text=encode)
    out = {
        POPULARITY_ROW: offline_tally(scorer, test, False),
        OFFLINE_ROW: offline_tally(scorer, test, True),
    }
    log.info(
        "%s fold %d/%d offline (w_self %g): R@10 %.4f R@50 %.4f over %d samples",
        data.name, f + 1, opts.n_folds, config.w_self, out[OFFLINE_ROW].recall(10),
        out[OFFLINE_ROW].recall(50), len(out[OFFLINE_ROW].ranks),
    )  # fmt: skip
    for kind in opts.pipelines:
        assert store is not None
        served = _as_served(scorer, data_dir) if opts.scorer == "comention" else None
        pipeline = make_pipeline(
            store, served, pool, lexicon, parser, hide_named_items=hide, data_dir=data_dir,
            encoder_dtype=opts.encoder_dtype, demote_shown=kind != "not-shown",
        )  # fmt: skip
        started = time.perf_counter()
        try:
            tally = asyncio.run(serve_and_replay(pipeline, test, catalog, opts.mode, opts.explain))
        finally:
            after_serving()
        log.info(
            "%s fold %d/%d, %s pipeline (hide named items %s): %d dialogues in %.0f s, R@10 %.4f",
            data.name,
            f + 1,
            opts.n_folds,
            kind,
            hide,
            len(test),
            time.perf_counter() - started,
            tally.recall(10),
        )
        out[served_row(opts, kind)] = tally
    return out


def _as_served(scorer: CoMentionScorer, workdir: Path | None) -> Any:
    """``scorer`` saved and loaded back, as ``kgrec serve`` loads a model: with its own text
    encoder and an empty text cache. The fitted scorer shares the run's conversation encoder,
    whose cache holds every text the fits, the offline rows and earlier replays encoded, so
    serving it would time a replay's turns on cache hits a server never gets."""
    from models.scoring import load_scorer

    path = Path(tempfile.mkdtemp(prefix="served-", dir=workdir))
    return load_scorer(scorer.save(path / scorer.version))


def print_table(data: BenchData, opts: Options, rows: dict[str, Tally]) -> None:
    n_eval = len(data.dialogues) if opts.limit is None else min(opts.limit, len(data.dialogues))
    catalog = (
        "catalog per fold: its training dialogues' titles + the movie list"
        if data.per_fold
        else f"catalog {len(data.item_ids)} movies"
    )
    print(
        f"\n{data.name}: {n_eval} of {len(data.dialogues)} dialogues evaluated, "
        f"{catalog}, {opts.n_folds}-fold"
        + ("" if opts.fold_seed is None else f", split seed {opts.fold_seed}")
        + " (scorer fitted only on the other folds' dialogues)"
    )
    first = next(iter(rows.values()), None)
    if first is not None and first.ranks:  # every row scores the same targets
        print(
            f"coverage: {first.in_catalog} of {len(first.ranks)} evaluated targets "
            f"({first.in_catalog / len(first.ranks):.3f}) in their fold's catalog; the others "
            "count as misses"
        )
    print(HEADER)
    for name, tally in rows.items():
        print(tally.row(name))
    print("95% intervals, bootstrap over dialogues:")
    for name, tally in rows.items():
        spans = "  ".join("R@{} [{:.3f}, {:.3f}]".format(k, *tally.interval(k)) for k in KS[1:])
        print(f"  {name:<{ROW_WIDTH}} {spans}")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    root, opts, level = parse_args(argv)
    import torch

    # One intra-op thread: on a shared 2-core box torch's default pool makes one MiniLM
    # forward of the intent parser ~50x slower (430 ms instead of 8 ms per message).
    torch.set_num_threads(1)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("server", "kg", "models.intent", "models.explain", "models.encoders"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    names = ["redial", "inspired"] if opts.dataset == "both" else [opts.dataset]
    for name in names:
        data = DATASETS[name](root)
        per_dataset = dataclasses.replace(opts, dataset=name)
        rows = run_dataset(data, per_dataset)
        print_table(data, per_dataset, rows)
        if opts.paired_with is not None:
            print("\n".join(paired_lines(opts.paired_with, name, rows)), flush=True)
        if opts.ranks_out is not None:
            save_ranks(opts.ranks_out, name, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
