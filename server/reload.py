"""Hot model refresh: load the newest checkpoint of the model dir and swap it in, no restart.

Both ways in run :meth:`ModelReloader.reload`: the admin-scope RPC
``kgrec.v1.AdminService/ReloadModel`` (``kgrec admin reload``) and ``SIGHUP`` to ``kgrec
serve``. The checkpoint is read and checked in a worker thread, off the event loop, while the
old model keeps serving; then :meth:`server.pipeline.Pipeline.swap_scorer` replaces it in one
assignment. A turn already running finishes on the model it started with (``turn.scorer``), and
its response names that model's version, so no call fails during a swap. A checkpoint that
cannot be loaded (missing or corrupt files, a scorer that cannot score) changes nothing: the
old model keeps serving and the caller gets :class:`ModelReloadError` (``FAILED_PRECONDITION``
over gRPC), logged with the reason. Reloads in one process run one at a time, so a slow load
can never land after, and undo, a newer one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kgrec.errors import KgrecError

from .metrics import METRICS

if TYPE_CHECKING:
    from models.scoring import ItemScorer

    from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["ModelReloadError", "ModelReloader", "ReloadResult", "load_model"]

#: One reload at a time per process (the RPC and SIGHUP may race).
_RELOADING = threading.Lock()


class ModelReloadError(KgrecError):
    """The newest checkpoint could not be loaded; the model served before still serves."""


class SwappablePipeline(Protocol):
    @property
    def model_version(self) -> str: ...

    def swap_scorer(self, scorer: ItemScorer) -> ItemScorer | None: ...


@dataclass(frozen=True, slots=True)
class ReloadResult:
    previous_version: str
    model_version: str
    checkpoint: Path


def scorer_options(settings: Settings) -> dict[str, Any]:
    """The settings a loaded scorer serves with (:meth:`ItemScorer.configure`)."""
    return {
        "cache_rows": settings.embedding_cache_rows,
        "item_index": settings.item_index,
        "device": settings.device,
        "score_batching": settings.score_batching,
    }


def load_model(checkpoint: Path, options: Mapping[str, Any] | None = None) -> ItemScorer:
    """The scorer saved in ``checkpoint``, of whatever kind it is, configured to serve with
    ``options`` (:func:`scorer_options`: bounded encoder caches, the item index, the device
    and score batching)."""
    from kgrec.startup_cache import paused_gc
    from models.scoring import ScoringContext, load_scorer

    with paused_gc():  # a million-item model's id maps: millions of objects that live on
        scorer = load_scorer(checkpoint)
        scorer.configure(**(options or {}))
        if scorer.item_ids:  # any item index is built (or read) now, not on a shopper's turn
            scorer.turn_scores(ScoringContext(liked_item_ids=tuple(scorer.item_ids[:1])))
    return scorer


def _check(scorer: ItemScorer) -> None:
    """Two catalog scorings, anonymous and "more like the first item": a checkpoint whose
    tensors do not fit together fails here, before it serves, not on a shopper's turn."""
    import numpy as np

    from models.scoring import ScoringContext

    first = tuple(scorer.item_ids[:1])
    for ctx in (ScoringContext(), ScoringContext(liked_item_ids=first)):
        scores = scorer.catalog_scores(ctx)
        if len(scores) != len(scorer.item_ids) or not np.isfinite(scores).all():
            raise ValueError(
                f"{len(scores)} scores for {len(scorer.item_ids)} items, or not all finite"
            )


class ModelReloader:
    """Swaps the newest checkpoint under ``model_dir`` into ``pipeline`` (see the module docs).

    Args:
        pipeline: what serves; needs ``swap_scorer`` and ``model_version``.
        model_dir: where ``kgrec train`` (and ``kgrec train --since``) write checkpoints.
        options: :func:`scorer_options`, as at start-up.
        on_reloaded: called after each successful swap (a worker of several tells the parent,
            which has the other workers reload too).
    """

    def __init__(
        self,
        pipeline: SwappablePipeline,
        model_dir: Path | str,
        options: Mapping[str, Any] | None = None,
        on_reloaded: Callable[[], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.model_dir = Path(model_dir)
        self.options = dict(options or {})
        self.on_reloaded = on_reloaded

    def reload_sync(self) -> ReloadResult:
        """Load, check and swap in the newest checkpoint (blocking; see :meth:`reload`).

        Always loads it, also when its version is the one served: a checkpoint rewritten in
        place (``kgrec admin forget-user`` zeroes a profile vector) is then served as it is now.
        """
        from models.training.checkpoint import latest_checkpoint

        with _RELOADING:
            previous = self.pipeline.model_version
            path = latest_checkpoint(self.model_dir)
            if path is None:
                log.error("model reload: no checkpoint in %s; still serving %s",
                          self.model_dir, previous)  # fmt: skip
                raise ModelReloadError(
                    f"no model checkpoint in the model dir; still serving {previous}"
                )
            try:
                scorer = load_model(path, self.options)
                _check(scorer)
            except Exception as e:  # noqa: BLE001 - any failure keeps the old model serving
                log.error("model reload: cannot load %s (%s: %s); still serving %s",
                          path, type(e).__name__, e, previous)  # fmt: skip
                raise ModelReloadError(
                    f"cannot load the newest checkpoint {path.name!r} ({type(e).__name__}); "
                    f"still serving {previous}"
                ) from e
            self.pipeline.swap_scorer(scorer)
            METRICS.set_model_version(scorer.version)
            log.info("model reload: %s -> %s (from %s)", previous, scorer.version, path)
            if self.on_reloaded is not None:
                self.on_reloaded()
            return ReloadResult(previous, scorer.version, path)

    async def reload(self) -> ReloadResult:
        """:meth:`reload_sync` in a worker thread: the event loop keeps serving meanwhile."""
        return await asyncio.to_thread(self.reload_sync)

    async def reload_logged(self) -> None:
        """:meth:`reload` for a signal handler: a failure is logged (by ``reload_sync``), not
        raised."""
        try:
            await self.reload()
        except ModelReloadError:
            pass
        except Exception:  # noqa: BLE001 - a signal handler's task must not die silently
            log.exception("model reload failed")
