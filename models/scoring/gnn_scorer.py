"""The GNN scorer: a trained checkpoint's user / item / entity vectors, one product per turn."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from models.data._text import product_text
from models.encoders import ModalityFusion
from models.training.checkpoint import Checkpoint
from models.training.device import batching_on, resolve_device
from models.training.item_item import FEW_ITEMS, ItemItem, standardize, user_histories

from .dynamic_batcher import DynamicBatcher
from .gnn_batch import batch_catalogue_scores
from .gnn_encoders import QueryEncoders
from .gnn_search import GnnSearch
from .gnn_vectors import feedback_vector, mean_rows, new_item_vector
from .item_index import ANN_MIN_ITEMS, index_kind
from .item_scorer import ItemScorer, NewItem, ScoringContext
from .turn_scores import TensorScores, TurnScores

logger = logging.getLogger(__name__)

__all__ = ["GnnScorer", "Scorer"]


class GnnScorer(ItemScorer):
    """Serving-side view of a checkpoint: precomputed final vectors, one matrix product per call.

    Score of item ``i`` (higher is better), every term z-scored over the whole catalogue:

    .. math::
        s(i) = z\\big(h_u^\\top h_i\\big)
             + z\\big(\\langle p, \\hat h_i \\rangle\\big), \\qquad
        p = \\widehat{q} + \\widehat{\\bar h_{\\text{liked}}}
            - \\tfrac12\\,\\widehat{\\bar h_{\\text{disliked}}}
            + \\widehat{\\bar h_{\\text{entities}}}

    where ``h_u`` is the trained user vector (for a user the model was not trained on, or
    trained on too few items, :data:`~models.training.item_item.FEW_ITEMS`, the trained users'
    mean: what interactions say of the items for anyone, their training items then counting
    as liked in ``p``; the others may add ``w z(x_u B)``, :mod:`models.training.item_item`,
    scored exactly), ``q`` the fusion of the query's MiniLM embedding (the item encoder on
    text only), hats are L2-normalised vectors, and bars are means. Without users or any
    signal, the score is the z-scored log-popularity (a cold-start fallback); so it is for a
    shopper the model never saw whose context holds nothing of their own (no profile, no
    item liked, disliked, weighted or named) and whose words linked catalogue entities (a
    category, a brand, a colour): those entities already constrain or match the candidates
    in the graph, and within them neither the mean user nor the message's cosine knew the
    shopper's taste better than how often each product is chosen (``bench.message_users``).

    Session feedback (``ctx.item_weights``, weights ``w_j`` in ``[-1, 1]``) adds
    ``f = \\sum_j w_j v_j / \\max(1, \\sum_j |w_j|)`` to ``p`` (those items then leave the
    plain liked / disliked means), with ``v_j = \\widehat{\\hat h_j + \\hat e_j}`` and
    ``e_j`` the mean final vector of item ``j``'s KG entities (brand, category, attributes):
    a purchase pulls towards the item's neighbours in the model and towards items sharing
    its KG entities, a rating of 4 half as far as a 5, a 1 pushes away. ``f`` is not
    normalised, so its pull against the conversation's own terms grows with the weight.

    A user profile (``ctx.profile``, a vector in the space of :meth:`item_vectors`) adds
    ``z(\\langle \\hat h_i, \\text{profile} \\rangle)``: that is how a user the model never saw
    (no ``h_u``) still gets their history's taste (``models.feedback.profiles``).

    New items (:meth:`add_item`) are embedded from their content with the trained fusion,
    mixed with the mean final vector of the KG entities they link to (brand, category,
    attributes): ``h_new = a\\,x^{(0)} + (1-a)\\,\\bar h_{\\text{entities}}``,
    ``a = 1/(K+1)`` (the share of layer 0 in a LightGCN final vector). Item ids never seen
    nor added get the fusion's "no modality" vector. A checkpoint trained with
    ``TrainConfig.cold_item_map`` embeds a new item with text by its ridge map from text into
    the trained item space instead (``models.training.cold_items``): its vector is
    ``cold_item_scale`` long, so every cosine term normalises item vectors.

    Past :data:`models.scoring.item_index.ANN_MIN_ITEMS` items a turn is one approximate
    inner-product search with the same scores (:mod:`models.scoring.gnn_search`).

    Computation runs on CUDA when available, else CPU (:meth:`configure`'s ``device``).
    With score batching on (``auto``: on CUDA) concurrent turns are scored together, exactly
    (:mod:`models.scoring.gnn_batch`, unless the item index is ``faiss``). Thread-safe.
    """

    kind = "gnn"

    def __init__(
        self, checkpoint: Checkpoint, *, device: str = "auto", cache_rows: int | None = None
    ) -> None:
        self.checkpoint = checkpoint
        #: rows each in-memory encoder cache (query texts, images) keeps; None: its default
        self.cache_rows = cache_rows
        self._version: str = checkpoint.version
        self.config = checkpoint.config
        self.device = resolve_device(device)
        t = checkpoint.tensors
        self._users = t["users"].float().to(self.device)
        self._mean_user = self._users.mean(0) if len(self._users) else None  # unknown users' h_u
        self._items = t["items"].float().to(self.device)
        self._entities = t["entities"].float().to(self.device)
        self._popularity = t["item_popularity"].float().to(self.device)
        # cold_item_map stores new items shorter than unit (their user term is scaled down):
        # item vectors are then not all unit, and every cosine term normalises them
        self._cold_map = (t["cold_map"], t["cold_map_mean"]) if "cold_map" in t else None
        self._normalized = self.config.cosine and self._cold_map is None
        term = ItemItem.from_tensors(t, checkpoint.extra)
        self._item_item = term.to(self.device) if term is not None else None
        self.user_ids = list(checkpoint.user_ids)
        self._ids = list(map(sys.intern, checkpoint.item_ids))  # as the filter snapshot's
        self.entity_ids = list(checkpoint.entity_ids)
        self._user_index = {u: i for i, u in enumerate(self.user_ids)}
        self._item_index = {it: i for i, it in enumerate(self.item_ids)}
        self._entity_index = {e: i for i, e in enumerate(self.entity_ids)}
        #: each user's training items (catalogue rows), by user row
        self._seen = user_histories(t["seen"].numpy(), len(self.user_ids))
        self._item_entity_rows: dict[int, list[int]] = {}
        links = t.get("item_entities")
        if links is not None and len(links):
            for item_row, entity_row in links.tolist():
                self._item_entity_rows.setdefault(int(item_row), []).append(int(entity_row))
        self._layer0_weight = float(checkpoint.extra.get("layer0_weight", 0.5))
        self._fusion: ModalityFusion | None = None
        if checkpoint.feature_dims:
            self._fusion = ModalityFusion(checkpoint.feature_dims, self.config.model.dim)
            state = checkpoint.state_dict
            self._fusion.load_state_dict({k[7:]: v for k, v in state.items() if k[:7] == "fusion."})
            self._fusion.to(self.device).eval()
        self._encoders = QueryEncoders(self.config.encoder, str(self.device), cache_rows)
        self._lock = threading.RLock()
        #: ``auto``, ``exact`` or ``faiss`` (``Settings.item_index``)
        self.item_index = "auto"
        #: ``auto``, ``on`` or ``off`` (``Settings.score_batching``); its batcher when on
        self.score_batching, self._batcher = "auto", self._make_batcher("auto")
        self.ann_min_items = ANN_MIN_ITEMS
        self._search: GnnSearch | None = None
        self._directory: Path | None = None  # where load() read it (the item index cache)

    def configure(
        self,
        *,
        cache_rows: int | None = None,
        item_index: str | None = None,
        device: str | None = None,
        score_batching: str | None = None,
    ) -> None:
        if cache_rows is not None:
            self.cache_rows = self._encoders.cache_rows = cache_rows
        if item_index is not None:
            index_kind(0, item_index)  # an unknown kind fails here, not on a turn
            with self._lock:
                self.item_index, self._search = item_index, None
        if device is not None and (place := resolve_device(device)) != self.device:
            with self._lock:
                self._place(place)
        batching = self.score_batching if score_batching is None else score_batching
        self._batcher, self.score_batching = self._make_batcher(batching), batching

    def _make_batcher(self, batching: str) -> DynamicBatcher[ScoringContext, Tensor] | None:
        on = batching_on("score_batching", batching, self.device)
        return DynamicBatcher(self._batch_catalogue) if on else None

    def _place(self, device: torch.device) -> None:
        """Every tensor and encoder on ``device`` (callers hold the lock)."""
        for name in ("_users", "_mean_user", "_items", "_entities", "_popularity", "_item_item"):
            if (value := getattr(self, name)) is not None:
                setattr(self, name, value.to(device))
        if self._fusion is not None:
            self._fusion.to(device)
        self.device = device
        self._encoders = QueryEncoders(self.config.encoder, str(device), self.cache_rows)

    @property
    def item_ids(self) -> list[str]:
        return self._ids

    @property
    def version(self) -> str:
        return self._version

    def _positions(self) -> dict[str, int]:
        return self._item_index

    @classmethod
    def load(
        cls, directory: Path | str, *, device: str = "auto", cache_rows: int | None = None
    ) -> GnnScorer:
        checkpoint = Checkpoint.load(directory)
        logger.info("loaded scorer %s from %s", checkpoint.version, directory)
        scorer = cls(checkpoint, device=device, cache_rows=cache_rows)
        scorer._directory = Path(directory)
        return scorer

    def save(self, directory: Path) -> Path:
        """The checkpoint with the items added since loading (their vectors and zero
        popularity), so a reload scores exactly as this scorer does."""
        with self._lock:
            tensors = dict(self.checkpoint.tensors)
            tensors["items"] = self._items.detach().cpu()
            tensors["item_popularity"] = self._popularity.detach().cpu()
            tensors.update(self._item_item.tensors() if self._item_item is not None else {})
            checkpoint = dataclasses.replace(
                self.checkpoint,
                item_ids=list(self._ids),
                tensors=tensors,
                extra={**self.checkpoint.extra, "kind": self.kind},
            )
        return checkpoint.save(Path(directory))

    def _content(self, text: str | None, image: bytes | None) -> Tensor | None:
        """Layer-0 content vector ``(d,)`` from whatever modalities the model was trained with."""
        if self._fusion is None:
            return None
        return self._encoders.content(self._fusion, self.checkpoint.feature_dims, text, image)

    # ------------------------------------------------------------------ scoring

    def _session_vector(self, ctx: ScoringContext, history: Sequence[int] = ()) -> Tensor | None:
        """``p`` of the class docstring, or ``None`` with no signal; ``history``: catalogue
        rows liked besides the context's (a user with few training items)."""
        parts: list[Tensor] = []
        weights, entity_ids, query_text = ctx.item_weights, ctx.entity_ids, ctx.text
        weighted = {i for i, _ in weights}
        liked = [i for i in ctx.liked_item_ids if i not in weighted]
        disliked = [i for i in ctx.disliked_item_ids if i not in weighted]
        liked_rows = [self._item_index[i] for i in liked if i in self._item_index]
        liked_rows += [r for r in history if r < len(self._ids)]
        liked_rows += [self._item_index[e] for e in entity_ids if e in self._item_index]
        disliked_rows = [self._item_index[i] for i in disliked if i in self._item_index]
        entity_rows = [self._entity_index[e] for e in entity_ids if e in self._entity_index]
        if query_text:
            q = self._content(query_text, None)
            if q is not None:
                parts.append(nn.functional.normalize(q, dim=0))
        for vec, weight in (
            (mean_rows(self._items, liked_rows), 1.0),
            (mean_rows(self._items, disliked_rows), -0.5),
            (mean_rows(self._entities, entity_rows), 1.0),
        ):
            if vec is not None:
                parts.append(weight * nn.functional.normalize(vec, dim=0))
        known = [(self._item_index[i], w) for i, w in weights if i in self._item_index and w]
        feedback = feedback_vector(self._items, self._entities, self._item_entity_rows, known)
        if feedback is not None:
            parts.append(feedback)
        return torch.stack(parts).sum(0) if parts else None

    @torch.inference_mode()
    def _terms(self, ctx: ScoringContext) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """The turn's query vectors (see the class docstring): the user's ``h_u`` (against the
        raw item vectors), the session's ``p`` and the profile (against normalised ones);
        ``None`` for each the context does not give. Both the exact scores and the index's
        search (:meth:`turn_scores`) are built from these."""
        u = self._user_index.get(ctx.user_id) if ctx.user_id is not None else None
        trained = self._trained_row(ctx)
        few = self._seen[u].tolist() if u is not None and trained is None else []
        profile, dim = ctx.profile, self._items.shape[1]
        vec = None
        if profile is not None and profile.shape != (dim,):
            logger.debug("profile of shape %s ignored (items are %d-d)", profile.shape, dim)
        elif profile is not None and np.any(profile):
            vec = torch.from_numpy(np.asarray(profile, dtype=np.float32)).to(self.device)
        if trained is None and not few and vec is None and self._only_catalogue(ctx):
            return None, None, None  # the catalogue's popularity (the class docstring)
        user = self._users[trained] if trained is not None else self._mean_user
        return user, self._session_vector(ctx, few), vec

    def _only_catalogue(self, ctx: ScoringContext) -> bool:
        """Whether ``ctx`` says nothing of a shopper beyond catalogue entities their words
        linked (a category, a brand, a colour): no items liked, disliked, weighted or named."""
        items = (*ctx.liked_item_ids, *ctx.disliked_item_ids, *(i for i, _ in ctx.item_weights))
        named = any(e in self._item_index for e in ctx.entity_ids)
        return bool(ctx.entity_ids) and not items and not named

    def _trained_row(self, ctx: ScoringContext) -> int | None:
        """The user's row when their own vector scores them: trained on, with more than
        :data:`~models.training.item_item.FEW_ITEMS` training items (fewer: served as a
        shopper the model never saw whose session liked those items)."""
        u = self._user_index.get(ctx.user_id) if ctx.user_id is not None else None
        return u if u is not None and len(self._seen[u]) > FEW_ITEMS else None

    def _history_term(self, ctx: ScoringContext) -> Tensor | None:
        """``w z(x_u B)`` for a user scored by their own vector (``None``: no such term)."""
        if (term := self._item_item) is None or (u := self._trained_row(ctx)) is None:
            return None
        return term.weight * standardize(term.user_scores(self._seen[u], len(self._ids)))

    @torch.inference_mode()
    def _catalogue_scores(self, ctx: ScoringContext) -> Tensor:
        """Scores ``(I,)`` for every known item (callers hold the lock)."""
        user, session, profile = self._terms(ctx)
        total = None if user is None else standardize(self._items @ user)
        if total is not None and (history := self._history_term(ctx)) is not None:
            total += history
        items = self._items if self._normalized else nn.functional.normalize(self._items, dim=1)
        for vec in (session, profile):
            if vec is not None:
                s = standardize(items @ vec)
                total = s if total is None else total + s
        if total is None:
            total = standardize(torch.log1p(self._popularity))
        return total

    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        """Scores ``float32[I]`` of every catalog item (see the class docstring)."""
        with self._lock:
            scores = self._catalogue_scores(ctx)
            return scores.float().cpu().numpy().astype(np.float32, copy=True)

    def _item_search(self) -> GnnSearch | None:
        """The inner-product search past exact search's size (callers hold the lock; score
        batching makes ``auto`` exact), on first use; its index cached beside the checkpoint."""
        auto_exact = self._batcher is not None and self.item_index == "auto"
        kind = "exact" if auto_exact else self.item_index
        if index_kind(len(self._ids), kind, min_items=self.ann_min_items) == "exact":
            return None
        if self._search is None:
            logger.info("FAISS item index over %d items", len(self._ids))
            cache = (
                self._directory / f"item_index_{len(self._ids)}.faiss" if self._directory else None
            )
            items = self._items.float().cpu().numpy()
            self._search = GnnSearch.open(items, normalized=self._normalized, cache=cache)
        return self._search

    def _batch_catalogue(self, ctxs: Sequence[ScoringContext]) -> list[Tensor]:
        """Each context's :meth:`_catalogue_scores`, the batch's products (and the MiniLM
        forward of its messages) taken together."""
        with self._lock, torch.inference_mode():
            if self._fusion is not None and "text" in self.checkpoint.feature_dims:
                texts = {c.text: None for c in ctxs if c.text and c.text.strip()}
                self._encoders.prefetch_texts(list(texts))  # the batch's messages, one pass
            terms = [(*self._terms(c), self._history_term(c)) for c in ctxs]
            unit = self._items if self._normalized else nn.functional.normalize(self._items, dim=1)
            return batch_catalogue_scores(self._items, unit, self._popularity, terms)

    @torch.inference_mode()
    def turn_scores(self, ctx: ScoringContext) -> TurnScores:
        if (batcher := self._batcher) is not None and self.item_index != "faiss":
            return TensorScores(self, batcher.submit(ctx))
        with self._lock:
            search = self._item_search()
            if search is not None and (self._item_item is None or self._trained_row(ctx) is None):
                terms = self._terms(ctx)
                user, session, profile = (None if t is None else t.cpu().numpy() for t in terms)
                linear = search.linear(self, user, session, profile)
                if linear is not None:
                    return linear
        return super().turn_scores(ctx)

    @torch.inference_mode()
    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """L2-normalised final item vectors ``float32[len(item_ids), d]`` (zero rows for
        unknown ids): the space of ``ctx.profile``."""
        with self._lock:
            rows = [self._item_index.get(i, -1) for i in item_ids]
            out = np.zeros((len(rows), self._items.shape[1]), dtype=np.float32)
            known = [n for n, r in enumerate(rows) if r >= 0]
            if known:
                picked = self._items[torch.tensor([rows[n] for n in known], device=self.device)]
                out[known] = nn.functional.normalize(picked, dim=1).float().cpu().numpy()
            return out

    @torch.inference_mode()
    def similar_items(self, item_ids: Sequence[str], min_similarity: float) -> list[str]:
        """Items whose final vectors have cosine ``>= min_similarity`` with one of
        ``item_ids`` (those excluded), most similar first."""
        with self._lock:
            rows = [self._item_index[i] for i in item_ids if i in self._item_index]
            if not rows:
                return []
            if (search := self._item_search()) is not None:
                return [self._ids[i] for i in search.similar(rows, min_similarity)]
            items = nn.functional.normalize(self._items, dim=1)
            sim = (items @ items[torch.tensor(rows, device=self.device)].T).max(dim=1).values
            sim[torch.tensor(rows, device=self.device)] = -2.0
            hits = torch.nonzero(sim >= min_similarity).flatten()
            order = hits[torch.argsort(-sim[hits], stable=True)].tolist()
            return [self._ids[i] for i in order]

    def seen_item_ids(self, user_id: str | None) -> list[str]:
        u = self._user_index.get(user_id) if user_id is not None else None
        if u is None:
            return []
        return [self._ids[i] for i in self._seen[u].tolist() if i < len(self._ids)]

    # ------------------------------------------------------------------ catalogue updates

    @torch.inference_mode()
    def add_item(self, item: NewItem) -> None:
        """Embed a product from its text, image and KG links without retraining.

        Replaces the vector if the id is already known.
        """
        row: Any = item.row
        text = product_text(row)
        mapped = None
        if self._cold_map is not None and text.strip():  # the checkpoint's cold_item_map
            mapped = self._encoders.cold_map(self._cold_map, text, self.config.cold_item_scale)
        content = self._content(text, item.image) if mapped is None else None
        neighbours = [row.get("brand_id"), row.get("category_id"), *row.get("attribute_ids", [])]
        rows = [self._entity_index[e] for e in neighbours if e and e in self._entity_index]
        wants_text = self._item_item is not None and self._item_item.text is not None
        text_vector = None
        if wants_text and text.strip():
            text_vector = self._encoders.text().encode([text])[0]
        with self._lock:
            ent = mean_rows(self._entities, rows)
            vec = mapped if mapped is not None else new_item_vector(
                content, ent, layer0_weight=self._layer0_weight, cosine=self.config.cosine,
                dim=self._items.shape[1], device=self.device,
            )  # fmt: skip
            item_id = row["id"]
            row = self._item_index.get(item_id, len(self._ids))
            if self._item_item is not None and text_vector is not None:
                self._item_item = self._item_item.borrow(row, text_vector)
            if self._search is not None:
                self._search.set_row(row, vec.float().cpu().numpy())
            if item_id in self._item_index:
                self._items[row] = vec
                return
            self._item_index[item_id] = row
            self._ids.append(item_id)
            self._items = torch.cat([self._items, vec.unsqueeze(0)])
            self._popularity = torch.cat([self._popularity, torch.zeros(1, device=self.device)])

    def has_user(self, user_id: str) -> bool:
        return user_id in self._user_index

    def has_item(self, item_id: str) -> bool:
        return item_id in self._item_index

    def __repr__(self) -> str:
        n, version, batched = (len(self.user_ids), len(self.item_ids)), self.version, self._batcher
        return (
            f"GnnScorer(version={version!r}, users={n[0]}, items={n[1]}, device={self.device}, "
            f"score batching {'on' if batched is not None else 'off'})"
        )


#: the name this scorer had before the scoring contract (kept for callers of that name)
Scorer = GnnScorer
