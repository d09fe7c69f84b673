"""The one scoring contract every recommender implements, and the context it scores for.

A turn asks its scorer once (:meth:`ItemScorer.turn_scores`: by default the
:meth:`ItemScorer.catalog_scores` vector) and uses that one answer both to widen the candidate
pool (:meth:`TurnScores.best`, :meth:`ItemScorer.top_k` over the vector) and to rank the
candidates (:meth:`TurnScores.for_items`, :meth:`ItemScorer.scores_for`), so no scorer keeps a
cache of its last call. The rules every
scorer shares live here, once:

* scores are ``float32``, one per catalog item in :attr:`ItemScorer.item_ids` order, higher is
  better, all finite;
* an item id the scorer does not know scores below every known item (``min - 1``);
* :meth:`ItemScorer.top_k` leaves out exactly the ids it is told to leave out (and the user's
  training items a scorer reports through :meth:`ItemScorer.seen_item_ids`): what a turn hides
  (disliked, dismissed, named items) is the pipeline's decision, not the scorer's.

After the RecBole ``AbstractRecommender`` contract (``full_sort_predict`` for every model).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .turn_scores import TurnScores, VectorScores

if TYPE_CHECKING:
    from models.dialogue import DialogueState

__all__ = ["ItemScorer", "NewItem", "ScoringContext"]


@dataclass(frozen=True, slots=True)
class ScoringContext:
    """What a scorer may know of one turn.

    Attributes:
        user_id: the shopper, when known (``None``: anonymous).
        text: the conversation's recent seeker messages, newest first, one per line.
        liked_item_ids: items the shopper liked, bought, named or pointed at this session
            (``"more like the second one"``), oldest first.
        disliked_item_ids: items disliked or dismissed this session.
        entity_ids: linked KG entities of the conversation (brands, categories, attributes,
            people; a catalog item named in the message is an entity of label Product).
        item_weights: ``(item id, weight)`` of this session's feedback, weight in
            ``[-1, 1]`` (:func:`kgrec.domain.feedback_weight`: a purchase ``1``, a rating
            ``(r - 3) / 2``, a dislike ``-1``), oldest first. A scorer that reads it pulls
            towards positively weighted items and away from negative ones in proportion to
            the weight; those items are also in ``liked_item_ids`` / ``disliked_item_ids``
            (when positive / negative enough), so a scorer that does not read it still sees
            them there.
        profile: the user's profile vector in the scorer's item space
            (:meth:`ItemScorer.item_vectors`; ``models.feedback.profiles``), when something
            keeps one (``None``: none).
    """

    user_id: str | None = None
    text: str = ""
    liked_item_ids: tuple[str, ...] = ()
    disliked_item_ids: tuple[str, ...] = ()
    entity_ids: tuple[str, ...] = ()
    item_weights: tuple[tuple[str, float], ...] = ()
    profile: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("liked_item_ids", "disliked_item_ids", "entity_ids"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        weights = tuple((str(i), float(w)) for i, w in self.item_weights)
        object.__setattr__(self, "item_weights", weights)

    @classmethod
    def for_session(
        cls,
        state: DialogueState,
        user_id: str | None,
        linked_ids: Sequence[str],
        anchor_id: str | None = None,
    ) -> ScoringContext:
        """What a scorer knows of a conversation: the session's recent messages (newest
        first: "from the 80s" after "something scary" still asks for something scary), its
        liked items and the turn's anchor ("more like the second one"), and every entity
        linked so far, not only this turn's."""
        return cls(
            user_id=user_id or None,
            text=state.conversation_text(),
            liked_item_ids=(*state.liked_item_ids, *([anchor_id] if anchor_id else [])),
            disliked_item_ids=tuple(state.disliked_item_ids),
            entity_ids=tuple(dict.fromkeys([*state.preferred_ids, *linked_ids])),
            item_weights=tuple(state.item_weights().items()),
        )

    @property
    def context_ids(self) -> tuple[str, ...]:
        """Liked items then linked entities, each once, in order (what co-mention and KG
        terms start from)."""
        return tuple(dict.fromkeys((*self.liked_item_ids, *self.entity_ids)))


@dataclass(frozen=True, slots=True)
class NewItem:
    """A catalog item added after training: its product row and image bytes, if any."""

    row: Mapping[str, Any]
    image: bytes | None = None

    @property
    def item_id(self) -> str:
        return str(self.row["id"])


class ItemScorer(ABC):
    """Scores every catalog item for a :class:`ScoringContext`.

    Subclasses set :attr:`kind` (their registry name) and implement the abstract members;
    the concrete helpers below are the contract's shared rules.
    """

    #: registry name (see :mod:`models.scoring.registry`), written into every saved scorer
    kind: ClassVar[str] = ""

    @property
    @abstractmethod
    def item_ids(self) -> Sequence[str]:
        """The catalog, in score order."""

    @property
    @abstractmethod
    def version(self) -> str:
        """The model version that answered (carried in every response)."""

    @abstractmethod
    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        """``float32[len(item_ids)]``, finite, higher is better. Must not keep state that
        changes a later call's answer (two calls with one context give one answer)."""

    def turn_scores(self, ctx: ScoringContext) -> TurnScores:
        """The turn's scoring (:mod:`models.scoring.turn_scores`): the :meth:`catalog_scores`
        vector unless a scorer has a cheaper exact-enough way for a large catalogue."""
        return VectorScores(self, self.catalog_scores(ctx))

    def configure(
        self,
        *,
        cache_rows: int | None = None,
        item_index: str | None = None,
        device: str | None = None,
        score_batching: str | None = None,
    ) -> None:
        """Serving options (``Settings.embedding_cache_rows``, ``item_index``, ``device``,
        ``score_batching``); ``None`` keeps the current value, and a scorer ignores what it
        has no use for."""
        del cache_rows, item_index, device, score_batching

    @abstractmethod
    def add_item(self, item: NewItem) -> None:
        """Put ``item`` in the catalog without retraining (replacing it if known)."""

    @abstractmethod
    def save(self, directory: Path) -> Path:
        """Write everything :meth:`load` needs into ``directory`` (created); return it."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> ItemScorer:
        """Read a scorer written by :meth:`save`."""

    # -- optional: item vectors (profiles, near-duplicates) ------------------------------

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray | None:
        """``float32[len(item_ids), d]`` L2-normalised vectors of these items in the space
        :attr:`ScoringContext.profile` lives in (zero rows for unknown ids), or ``None``
        when this scorer has no item vectors (then it ignores ``profile``)."""
        del item_ids
        return None

    def similar_items(self, item_ids: Sequence[str], min_similarity: float) -> list[str]:
        """Catalog items whose vectors have cosine ``>= min_similarity`` with any of
        ``item_ids`` (those left out), best first; ``[]`` without item vectors."""
        del item_ids, min_similarity
        return []

    # -- shared rules ----------------------------------------------------------------------

    def seen_item_ids(self, user_id: str | None) -> Sequence[str]:
        """Items the user interacted with in training (left out of :meth:`top_k`)."""
        del user_id
        return ()

    def index_of(self, item_id: str) -> int | None:
        """Row of ``item_id`` in :attr:`item_ids`, or ``None``."""
        index = self._positions()
        return index.get(item_id)

    def _positions(self) -> Mapping[str, int]:
        # subclasses keep their own index; this default builds one per call
        return {item: n for n, item in enumerate(self.item_ids)}

    def rows_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """``int64[len(item_ids)]``: each id's row in :attr:`item_ids`, ``-1`` when unknown
        (one dict lookup per id and no Python call: a turn asks for hundreds)."""
        get = self._positions().get
        return np.fromiter(map(get, item_ids, repeat(-1)), dtype=np.int64, count=len(item_ids))

    def scores_for(self, item_ids: Sequence[str], scores: np.ndarray) -> np.ndarray:
        """``float32[len(item_ids)]`` picked from a :meth:`catalog_scores` vector; unknown
        ids score ``min - 1``, below every known item."""
        rows = self.rows_of(item_ids)
        out = np.empty(len(item_ids), dtype=np.float32)
        known = rows >= 0
        out[known] = scores[rows[known]]
        if not known.all():
            out[~known] = (float(scores.min()) if len(scores) else 0.0) - 1.0
        return out

    def top_k(
        self,
        scores: np.ndarray,
        k: int,
        *,
        exclude_item_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best ``(item_id, score)`` of a :meth:`catalog_scores` vector, best first
        (ties by catalog order), without ``exclude_item_ids`` and the user's training items."""
        index = self._positions()
        masked = scores.astype(np.float64, copy=True)
        drop = [index[i] for i in (*exclude_item_ids, *self.seen_item_ids(user_id)) if i in index]
        if drop:
            masked[drop] = -np.inf
        k = min(k, int(np.isfinite(masked).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-masked, k - 1)[:k]
        top = top[np.lexsort((top, -masked[top]))]
        ids = self.item_ids
        return [(ids[i], float(masked[i])) for i in top]
