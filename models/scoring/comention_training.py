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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.crs import CrsDialogue, TermReranker
from models.crs.conversation_corpus import ConversationCorpus

from .comention_config import CoMentionConfig
from .comention_scorer import CoMentionScorer

__all__ = ["PRESETS", "TEXT_ENCODER", "fit_comention", "preset", "title_vectors"]

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
) -> CoMentionScorer:
    """A scorer over ``corpus``'s catalog, KG and prior, fitted on ``dialogues`` (default:
    every dialogue of the corpus).

    Args:
        config: the weights (default: the corpus kind's preset).
        rerank: fit the tree re-ranker too (it stays unfitted when there are too few rows).
        text: use MiniLM title and conversation vectors (when the weights ask for them).
        vectors: precomputed title vectors (else computed, cached in ``cache_dir``).
        version: the model version (default: ``crs-comention-<kind>-<unix time>``).
    """
    config = config or preset(corpus.kind)
    uses_text = text and bool(config.w_title or config.w_query or config.w_near)
    if uses_text and vectors is None:
        vectors = title_vectors(corpus.titles, cache_dir)
    if not uses_text:
        config = dataclasses.replace(config, w_title=0.0, w_query=0.0, w_near=0.0)
    scorer = CoMentionScorer(
        corpus.item_ids,
        corpus.item_entities,
        config,
        version=version or f"crs-comention-{corpus.kind}-{int(time.time())}",
        prior_counts=corpus.prior,
        item_vectors=vectors if uses_text else None,
        reranker=TermReranker() if rerank else None,
        text_encoder=TEXT_ENCODER if uses_text else None,
    )
    return scorer.fit(corpus.dialogues if dialogues is None else dialogues)
