"""Fitting the conversational scorer from a corpus: the one place a
:class:`~models.scoring.CoMentionScorer` is built, for ``kgrec train --conversations`` and for
``bench.crs_bench``'s folds alike.

The presets are the weights per kind of corpus; how each was chosen (and on which dialogues)
is recorded with its figures in ``bench/RESULTS.md``, not here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.crs import CrsDialogue, TermReranker
from models.crs.conversation_corpus import ConversationCorpus

from .comention_config import CoMentionConfig
from .comention_scorer import CoMentionScorer
from .comention_tuning import WeightSearch, neutral_config, tune_protocols

__all__ = [
    "PRESETS",
    "TEXT_ENCODER",
    "corpus_text_encoder",
    "fit_comention",
    "preset",
    "title_vectors",
    "tune_comention",
]

log = logging.getLogger(__name__)

#: Scorer weights per corpus kind. ReDial counts a recommender's re-mention of a movie the
#: seeker named as a suggestion, so its preset ranks the context movies themselves (``w_self``)
#: and learns from the seeker's first mentions; INSPIRED's targets are first mentions, so it
#: keeps the product default of not echoing them; a shop's own log starts from the defaults.
PRESETS: dict[str, CoMentionConfig] = {
    "redial": CoMentionConfig(
        w_pop=0.44,
        w_co=2.0,
        w_seq=0.0,
        w_kg=3.0,
        w_self=5.0,
        w_text=0.6,
        w_title=0.75,
        w_query=0.4,
        w_near=0.25,
        w_entity=1.0,
        seeker_mentions=True,
    ),
    "inspired": CoMentionConfig(
        w_pop=0.0, w_co=0.0, w_seq=0.5, w_text=0.25, w_title=0.67, w_query=0.5
    ),
    "jsonl": CoMentionConfig(),
}

#: The conversation encoder every fitted scorer saves and reloads (MiniLM, 128 tokens: the
#: newest messages, as they come first).
TEXT_ENCODER = {"max_length": 128}


def preset(kind: str) -> CoMentionConfig:
    return PRESETS.get(kind, PRESETS["jsonl"])


def title_vectors(titles: Sequence[str], cache_dir: Path | None = None) -> np.ndarray:
    """MiniLM vectors of the catalog's titles (32 tokens), cached by text in ``cache_dir``."""
    from models.encoders import TextEncoder

    started = time.perf_counter()
    vectors = TextEncoder(max_length=32, cache_dir=cache_dir).encode(list(titles), progress=True)
    log.info("%d title vectors in %.1f s", len(vectors), time.perf_counter() - started)
    return vectors


def corpus_text_encoder(rows: int = 200_000) -> Callable[[Sequence[str]], np.ndarray]:
    """The conversation encoder every fit uses (:data:`TEXT_ENCODER`), with an in-memory
    cache of ``rows`` texts: many fits on one corpus (a weight search, a benchmark's folds)
    share it, so each conversation is encoded once rather than once per fit."""
    from models.encoders import TextEncoder

    spec: dict[str, Any] = dict(TEXT_ENCODER)
    return TextEncoder(**spec, cache_rows=rows).encode


def fit_comention(
    corpus: ConversationCorpus,
    dialogues: Sequence[CrsDialogue] | None = None,
    config: CoMentionConfig | None = None,
    *,
    rerank: bool = True,
    text: bool = True,
    vectors: np.ndarray | None = None,
    cache_dir: Path | None = None,
    version: str | None = None,
    encode_text: Callable[[Sequence[str]], np.ndarray] | None = None,
    tune: WeightSearch | None = None,
) -> CoMentionScorer:
    """A scorer over ``corpus``'s catalog and KG, fitted on ``dialogues`` (default:
    every dialogue of the corpus).

    Args:
        config: the weights (default: the corpus kind's preset; with ``tune``, the base of
            the neutral start, default the product's :class:`CoMentionConfig`).
        rerank: fit the tree re-ranker too (it stays unfitted when there are too few rows).
        text: use MiniLM title and conversation vectors (when the weights ask for them).
        vectors: precomputed title vectors (else computed, cached in ``cache_dir``).
        version: the model version (default: ``crs-comention-<kind>-<unix time>``).
        encode_text: the conversation encoder (default: MiniLM per :data:`TEXT_ENCODER`; the
            saved scorer rebuilds that one, so pass only an equivalent, e.g. a cached one).
        tune: search the weights on ``dialogues`` first
            (:func:`~models.scoring.comention_tuning.tune_weights`: inner folds of these
            dialogues only, from ``tune.start`` or every weight 1); ``config``'s weights are
            then not used.
    """
    train = corpus.dialogues if dialogues is None else dialogues
    if tune is not None:
        if text and encode_text is None:
            encode_text = corpus_text_encoder()
        if text and vectors is None:
            vectors = title_vectors(corpus.titles, cache_dir)
        tune = dataclasses.replace(tune, start=tune.start or neutral_config(config))
        tuned = tune_comention(
            corpus, train, tune, (tune.repeats,), text=text, vectors=vectors,
            encode_text=encode_text,
        )  # fmt: skip
        config = tuned[tune.repeats]
        log.info("tuned weights: %s", config)
    config = config or preset(corpus.kind)
    uses_text = text and bool(config.w_title or config.w_query or config.w_near)
    if uses_text and vectors is None:
        vectors = title_vectors(corpus.titles, cache_dir)
    version = version or f"crs-comention-{corpus.kind}-{int(time.time())}"
    return _scorer(corpus, config, rerank, text, vectors, version, encode_text).fit(train)


def tune_comention(
    corpus: ConversationCorpus,
    dialogues: Sequence[CrsDialogue],
    plan: WeightSearch,
    repeats: Sequence[bool] = (True, False),
    *,
    text: bool = True,
    vectors: np.ndarray | None = None,
    encode_text: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> dict[bool, CoMentionConfig]:
    """The weights :func:`fit_comention` with ``tune`` picks, for each ``repeats`` setting
    (standard protocol: ``True``; repeats removed, ``w_self`` 0: ``False``), searched on
    ``dialogues`` alone with scorers counted on inner folds of them
    (:func:`~models.scoring.comention_tuning.tune_protocols`; one term table for all)."""

    def inner(ds: Sequence[CrsDialogue], cfg: CoMentionConfig) -> CoMentionScorer:
        return _scorer(corpus, cfg, False, text, vectors, "inner", encode_text).fit(ds)

    return tune_protocols(dialogues, inner, plan, repeats)


def _scorer(
    corpus: ConversationCorpus,
    config: CoMentionConfig,
    rerank: bool,
    text: bool,
    vectors: np.ndarray | None,
    version: str,
    encode_text: Callable[[Sequence[str]], np.ndarray] | None,
) -> CoMentionScorer:
    """An unfitted scorer over ``corpus`` (text terms zeroed without ``text`` or vectors)."""
    uses_text = (
        text and vectors is not None and bool(config.w_title or config.w_query or config.w_near)
    )
    if not uses_text:
        config = dataclasses.replace(config, w_title=0.0, w_query=0.0, w_near=0.0)
    return CoMentionScorer(
        corpus.item_ids,
        corpus.item_entities,
        config,
        version=version,
        item_vectors=vectors if uses_text else None,
        reranker=TermReranker() if rerank else None,
        text_encoder=TEXT_ENCODER if uses_text else None,
        encode_text=encode_text if uses_text else None,
    )
