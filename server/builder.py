"""The one pipeline builder: ``kgrec serve`` and every benchmark build the served pipeline here.

Whatever a benchmark changes about the served path (candidate pool, hiding named items, the
scorer, the intent parser) is a :class:`~server.settings.Settings` field or an argument of
:func:`build_pipeline`, so what a benchmark measures is what ``kgrec serve`` runs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kg.store import GraphStore
from kg.types import LexiconEntry
from kgrec.startup_cache import paused_gc
from models.explain import Explainer
from models.intent import IntentConfig

from .pipeline import Pipeline, PipelineConfig
from .settings import Settings

if TYPE_CHECKING:
    from kg.linking import NameEncoder
    from models.intent import IntentParser
    from models.scoring import ItemScorer

    from .worker_slot import WorkerSlot

log = logging.getLogger(__name__)

__all__ = ["LINKABLE_LABELS", "build_pipeline", "intent_config", "make_reply_explainer"]

#: node labels whose names the entity linker knows
LINKABLE_LABELS = ("Brand", "Category", "Attribute", "Entity", "Product")


def intent_config(settings: Settings) -> IntentConfig:
    from models.training.device import batching_on, resolve_device

    device = resolve_device(settings.device)
    return IntentConfig(
        backend=settings.intent_backend,
        device=str(device),
        batching=batching_on("encoder_batching", settings.encoder_batching, device),
        cache_dir=str(Path(settings.data_dir) / "cache"),
        endpoint_url=settings.llm_endpoint_url or None,
        remote_model=settings.llm_remote_model,
        llm_model_path=settings.llm_model_path or None,
    )


def make_reply_explainer(
    settings: Settings, config: IntentConfig, lexicon: Sequence[LexiconEntry]
) -> Explainer:
    """The template explainer, or with ``explainer = "llm-rewrite"`` the template reply polished
    by the configured LLM (remote when ``llm_endpoint_url`` is set, else local) and checked."""
    from models.explain import FaithfulnessChecker, LLMRewriteExplainer, make_explainer
    from models.intent import make_parser

    if settings.explainer != "llm-rewrite":
        return make_explainer(settings.explainer)
    backend = "llm-remote" if settings.llm_endpoint_url else "llm-local"
    completer = make_parser(backend, dataclasses.replace(config, backend=backend), lexicon)
    checker = FaithfulnessChecker(e.name for e in lexicon if e.label != "Attribute")
    return LLMRewriteExplainer(completer, checker)  # type: ignore[arg-type]


@paused_gc()  # the lexicon, the parser's and linker's indexes: objects that live on
def build_pipeline(
    settings: Settings,
    store: GraphStore,
    scorer: ItemScorer | None,
    *,
    parser: IntentParser | None = None,
    lexicon: Sequence[LexiconEntry] | None = None,
    name_encoder: NameEncoder | None = None,
    worker: WorkerSlot | None = None,
) -> Pipeline:
    """The served pipeline over ``store``: the configured intent parser (``parser`` when given,
    e.g. one already loaded for several folds), the entity linker over the graph's linkable
    names with static MiniLM mention vectors (``name_encoder`` when given, e.g. preloaded),
    the configured explainer and ``scorer``; with ``impression_log`` on, the impression log
    under ``data_dir/impressions`` (closed by :meth:`Pipeline.close`). The parser's span index
    and the linker's index and name vectors are kept under ``data_dir/cache`` for the next
    start (:mod:`kgrec.startup_cache`). ``worker``: this process's place among the workers
    of ``kgrec serve --workers N`` (:mod:`server.learning`)."""
    from kg.linking import EntityLinker, StaticMiniLMEncoder
    from kgrec.minilm import set_inference_dtype
    from models.intent import make_parser

    dtype = set_inference_dtype(settings.encoder_dtype)
    log.info("per-turn MiniLM forwards in %s (encoder_dtype %s)", dtype, settings.encoder_dtype)
    if lexicon is None:
        lexicon = store.lexicon(LINKABLE_LABELS)
    config = intent_config(settings)
    if parser is None:
        parser = make_parser(settings.intent_backend, config, lexicon)
        parser.parse("warm up the intent model")  # first real turn should not pay for loading
    # static MiniLM token vectors: embeddings for mentions at ~0.2 ms each
    cache_dir = Path(settings.data_dir) / "cache"
    encoder = name_encoder or StaticMiniLMEncoder.shared(cache_dir=cache_dir)
    linker = EntityLinker(lexicon, store=store, encoder=encoder, cache_dir=cache_dir)
    from .impression_log import impression_log_for

    return Pipeline(
        store,
        parser,
        linker,
        make_reply_explainer(settings, config, lexicon),
        scorer=scorer,
        config=PipelineConfig(
            session_ttl_s=settings.session_ttl_seconds,
            candidate_pool=settings.candidate_pool,
            hide_named_items=settings.hide_named_items,
            demote_shown=settings.demote_shown,
            close_matches=settings.close_matches,
            log_message_text=settings.log_message_text,
            adapt_session=settings.adapt_session,
            adapt_profile=settings.adapt_profile,
            profile_half_life_days=settings.profile_half_life_days,
            rerank_policy=settings.rerank_policy,
            explore_rate=settings.explore_rate,
            explore_top=settings.explore_top,
            seed=settings.seed,
        ),
        lexicon=lexicon,
        impressions=impression_log_for(settings),
        policy_dir=settings.models_path,  # bandit state next to the model checkpoints
        worker=worker,
    )
