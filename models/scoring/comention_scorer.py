"""A conversational item scorer from co-mentions in training dialogues, the KG and popularity.

It implements :class:`~models.scoring.ItemScorer`, registered as ``"comention"``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from kgrec.errors import ConfigError
from models.crs.crs_dialogue import CrsDialogue, with_first_mentions
from models.crs.reranker import Scored, TermReranker, TurnShape

from .comention_config import CoMentionConfig
from .comention_counts import count_dialogues, entity_matrix, words
from .comention_files import ScorerFiles, read_scorer_files, write_scorer_files
from .item_scorer import ItemScorer, NewItem, ScoringContext

logger = logging.getLogger(__name__)


class CoMentionScorer(ItemScorer):
    """Scores catalog items for a conversation context.

    With context items :math:`C` (movies mentioned so far, or passed as liked / entity ids),
    context KG entities :math:`E` and the conversation's words :math:`W`:

    .. math::
        s(i) = w_p\\,\\frac{\\log(1+p_i)}{\\log(1+\\max p)}
             + w_c\\,\\frac1{|C|}\\sum_{c\\in C}\\frac{D_{ci}}{\\sqrt{n_c n_i}}
             + w_{c2}\\,\\frac1{|C|}\\sum_{c\\in C}[i\\ne c]\\sum_j \\tilde D_{cj}\\tilde D_{ji}
             + w_k\\,\\Big(\\frac1{|C|}\\sum_{c\\in C, c\\ne i}\\cos(x_c, x_i)
                        + \\frac1{|E|}\\sum_{e\\in E} \\hat x_{ie}\\Big)
             + w_s\\,\\frac{[i\\in C]}{|C|}
             + w_t\\,\\cos\\Big(\\sum_{w\\in W} t_w,\\; x_i\\Big)
             + w_{title}\\,\\frac1{|C|}\\sum_{c\\in C, c\\ne i}\\cos(v_c, v_i)
             + w_q\\,\\cos(q, v_i)
             + w_n\\,\\frac{\\sum_m [i \\in S_m] \\max(0, \\cos(q, q_m))^\\rho}
                          {\\max_j \\sum_m [j \\in S_m] \\max(0, \\cos(q, q_m))^\\rho}

    where ``p_i`` counts training suggestions (+ ``mention_weight`` x mentions, + the optional
    ``prior_counts``, e.g. mentions in a larger corpus), ``D`` is the
    dialogue-level co-mention count matrix of the training dialogues (``n`` its diagonal;
    ``\\tilde D`` its normalised form of the ``co`` term, diagonal zeroed, so ``co2`` counts
    two-step co-mentions),
    ``x_i`` the IDF-weighted L2-normalised item -> KG-entity row (hub entities dropped, the
    item itself included as an entity so direct movie-movie edges count), and ``t_w`` the
    mean ``x`` of the items suggested after the word ``w`` in training dialogues. The entity
    part of the KG term has its own weight ``w_entity``. Optional text embeddings: ``v_i`` is
    item ``i``'s row of ``item_vectors`` (e.g. MiniLM of its title, which knows "Insidious" is
    close to "The Conjuring" without any dialogue saying so) and ``q = encode_text([text])[0]``
    the conversation's; without them the ``title`` and ``query`` terms are 0. The ``near``
    term lets the training conversations most like this one vote: ``q_m`` encodes the
    seeker's messages before training suggestion ``m`` (newest first), ``S_m`` the movies
    then suggested, ``rho`` is ``near_power`` (needs ``encode_text``, used at ``fit``).
    Shapes: ``D`` is ``(I, I)`` sparse, ``X`` ``(I, E)`` sparse, ``T`` ``(V, E)`` sparse,
    ``item_vectors`` ``(I, d)`` dense (rows L2-normalised here), ``q`` ``(d,)``.

    With a ``reranker`` (:class:`~models.crs.reranker.TermReranker`), :meth:`fit` also fits
    it on cross-fitted terms of the training dialogues, and :meth:`scores` re-orders the best
    items of the weighted sum by it.

    ``text_encoder`` is the keyword arguments of :class:`models.encoders.TextEncoder` that
    build ``encode_text`` when none is given (and again at :meth:`load`), so a saved scorer
    encodes conversations as the fitted one did.
    """

    kind = "comention"

    def __init__(
        self,
        item_ids: Sequence[str],
        item_entities: Mapping[str, Iterable[str]] | None = None,
        config: CoMentionConfig | None = None,
        version: str = "crs-comention-v1",
        prior_counts: Mapping[str, float] | None = None,
        item_vectors: np.ndarray | None = None,
        encode_text: Callable[[Sequence[str]], np.ndarray] | None = None,
        reranker: TermReranker | None = None,
        text_encoder: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or CoMentionConfig()
        self._version = version
        self._ids = list(dict.fromkeys(item_ids))
        self._index = {i: n for n, i in enumerate(self._ids)}
        n = len(self.item_ids)
        self._prior = np.zeros(n, dtype=np.float64)
        for item, count in (prior_counts or {}).items():
            if item in self._index:
                self._prior[self._index[item]] = float(count)
        self._pop = self._prior.copy()
        self._co = sparse.csr_matrix((n, n))
        self._co_norm = np.ones(n)
        self._x, self._entity_index, self._idf = entity_matrix(
            self._ids, self._index, item_entities or {}, self.config.hub_df
        )
        self._vocab: dict[str, int] = {}
        self._t = sparse.csr_matrix((0, self._x.shape[1]))
        self._w = sparse.csr_matrix((0, n))
        self._seq = sparse.csr_matrix((n, n))
        self._title: np.ndarray | None = None
        if item_vectors is not None:
            v = np.asarray(item_vectors, dtype=np.float64)
            if v.shape[0] != n:
                raise ValueError(f"item_vectors has {v.shape[0]} rows for {n} items")
            norms = np.linalg.norm(v, axis=1, keepdims=True)
            self._title = v / np.where(norms == 0, 1.0, norms)
        self._text_encoder = dict(text_encoder) if text_encoder else None
        if encode_text is None and self._text_encoder is not None:
            encode_text = _text_encoder(self._text_encoder)
        self._encode = encode_text
        self._reranker = reranker
        self._near_q = np.zeros((0, 0))  # (M, d) training conversations before a suggestion
        self._near_y = sparse.csr_matrix((0, n))  # (M, I) what was suggested after each

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, dialogues: Iterable[CrsDialogue]) -> CoMentionScorer:
        """Count popularity, co-mentions and word -> item associations of ``dialogues``, then
        fit the reranker, if any, on them (:class:`~models.crs.reranker.TermReranker`; with
        ``w_self`` 0 on targets not named before). ``seeker_mentions``: see the config."""
        dialogues = list(dialogues)
        if self.config.seeker_mentions:
            dialogues = [with_first_mentions(d) for d in dialogues]
        self._count(dialogues)
        if self._reranker is not None:
            self._reranker.fit(dialogues, self._counted_on, self._index, self.config.w_self > 0)
        return self

    def _counted_on(
        self, dialogues: Sequence[CrsDialogue]
    ) -> Callable[[Sequence[str], str], Scored]:
        """The linear scores, every term and the turn shape of a copy of this scorer counted
        on ``dialogues`` alone (the reranker's cross-fitting)."""
        twin = copy.copy(self)  # shares the entity matrix and item vectors, which fit keeps
        twin._reranker = None
        twin._count(dialogues)
        return functools.partial(twin._linear, every=True)  # the terms scores() will feed

    def _count(self, dialogues: Sequence[CrsDialogue]) -> None:
        """Count ``dialogues`` into this scorer's matrices (:func:`count_dialogues`)."""
        counts = count_dialogues(
            dialogues, self._index, self._prior, self._x, self.config, self._encode
        )
        self._pop, self._co, self._vocab = counts.pop, counts.co, counts.vocab
        self._t, self._w, self._seq = counts.t, counts.w, counts.seq
        if counts.near_q is not None and counts.near_y is not None:
            self._near_q, self._near_y = counts.near_q, counts.near_y
        logger.info(
            "fitted: %d items, %d co-mention pairs, %d words",
            len(self._index), counts.co.nnz, len(counts.vocab),
        )  # fmt: skip

    # -- scoring ------------------------------------------------------------------------------

    def scores(self, context_ids: Sequence[str], text: str = "") -> np.ndarray:
        """Scores ``(I,)`` of every catalog item, in ``item_ids`` order: the weighted sum of
        :meth:`terms`, its best items re-ordered by the reranker if there is a fitted one."""
        # an unfitted reranker (too few positives) is not fed: only weighted terms computed
        reranker = self._reranker if self._reranker and self._reranker.fitted else None
        s, terms, shape = self._linear(context_ids, text, every=reranker is not None)
        if reranker is not None:
            s = reranker.rerank(s, terms, shape)
        return s

    def _linear(
        self, context_ids: Sequence[str], text: str, *, every: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray], TurnShape]:
        """The weighted sum of the terms, the terms (with ``every``, those weighted 0 too:
        what the reranker is fed) and the turn's shape."""
        terms = self.terms(context_ids, text, every=every)
        s = np.zeros(len(self.item_ids))
        for name, term in terms.items():
            weight = getattr(self.config, f"w_{name}")
            if weight:
                s += weight * term
        unique = set(context_ids)
        n_items = sum(1 for i in unique if i in self._index)
        return s, terms, TurnShape(n_items, len(unique) - n_items, len(text))

    def terms(
        self, context_ids: Sequence[str], text: str = "", *, every: bool = False
    ) -> dict[str, np.ndarray]:
        """The unweighted score terms ``{name: (I,)}`` (see the class docstring), each named
        after its weight ``w_<name>`` in :class:`CoMentionConfig`. Terms whose weight is 0
        are skipped unless ``every`` (for fitting the weights); ``off_terms`` always."""
        cfg = self.config

        def wanted(name: str) -> bool:  # an off term: never, whatever ``every`` says
            return name not in cfg.off_terms and (every or bool(getattr(cfg, f"w_{name}")))

        out: dict[str, np.ndarray] = {}
        if wanted("pop") and self._pop.max() > 0:
            out["pop"] = np.log1p(self._pop) / math.log1p(self._pop.max())
        unique = list(dict.fromkeys(context_ids))
        items = [self._index[i] for i in unique if i in self._index]
        ents = [
            self._entity_index[e]
            for e in unique
            if e not in self._index and e in self._entity_index
        ]
        if items:
            co_rows = self._co[items]  # (|C|, I), for the one- and the two-step terms
            if wanted("co"):
                out["co"] = np.asarray(co_rows.mean(axis=0)).ravel()
            if wanted("co2"):
                # two steps: items co-mentioned with the context's co-mentions, which reaches
                # past the few dialogues that name a context item; the step back to the context
                # item itself (c -> j -> c) is not evidence for it
                hop = (co_rows @ self._co).toarray()  # (|C|, I)
                hop[np.arange(len(items)), items] = 0.0
                out["co2"] = hop.mean(axis=0)
            if wanted("seq"):
                out["seq"] = np.asarray(self._seq[items].mean(axis=0)).ravel()
            if wanted("kg"):
                # KG similarity to the other context items: an item's similarity to itself is
                # not evidence from the graph (that is the separate self term)
                sim = np.asarray((self._x @ self._x[items].T).todense())  # (I, |C|)
                sim[items, np.arange(len(items))] = 0.0
                out["kg"] = sim.mean(axis=1)
            if wanted("self"):
                out["self"] = np.zeros(len(self.item_ids))
                out["self"][items] = 1.0 / len(items)
            if wanted("title") and self._title is not None:
                sim = self._title @ self._title[items].T  # (I, |C|)
                sim[items, np.arange(len(items))] = 0.0
                out["title"] = sim.mean(axis=1)
        if ents and wanted("entity"):
            out["entity"] = np.asarray(self._x[:, ents].mean(axis=1)).ravel()
        if text:
            out.update(self._text_terms(text, wanted))
        return out

    def _query_vector(self, text: str) -> np.ndarray:
        """``(d,)`` unit embedding of ``text``."""
        v = np.asarray(self._encode([text]), dtype=np.float64)[0]  # type: ignore[misc]
        norm = float(np.linalg.norm(v))
        return v / norm if norm > 0 else v

    def _text_terms(self, text: str, wanted: Callable[[str], bool]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        use_query = wanted("query") and self._title is not None
        use_near = wanted("near") and self._near_q.shape[0] > 0
        query = None
        if self._encode is not None and (use_query or use_near):
            query = self._query_vector(text)  # once, for both terms
        if use_query and query is not None:
            out["query"] = self._title @ query  # type: ignore[operator]
        if use_near and query is not None:
            sim = np.clip(self._near_q @ query, 0.0, None)
            votes = self._near_y.T @ sim**self.config.near_power
            peak = float(votes.max())
            if peak > 0:
                out["near"] = votes / peak
        rows = Counter(self._vocab[w] for w in words(text) if w in self._vocab)
        if not rows:
            return out
        weights = np.fromiter(rows.values(), float)
        if wanted("text"):
            profile = self._t[list(rows)].T @ weights
            norm = float(np.linalg.norm(profile))
            if norm > 0:
                out["text"] = self._x @ (profile / norm)
        if wanted("word"):
            direct = self._w[list(rows)].T @ weights
            peak = float(direct.max())
            if peak > 0:
                out["word"] = direct / peak
        return out

    # -- the scoring contract -------------------------------------------------------------

    @property
    def item_ids(self) -> list[str]:
        return self._ids

    @property
    def version(self) -> str:
        return self._version

    def _positions(self) -> dict[str, int]:
        return self._index

    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        """Liked items and linked entities (movies linked in the message are entities of label
        Product) are the context, the conversation text the words; disliked items, feedback
        weights and the user are not used. A user profile (``ctx.profile``) adds
        ``w_title * cos(profile, v_i)`` when this scorer has item vectors ``v`` (its title
        embeddings) of the profile's size; without them the profile is ignored."""
        scores = self.scores(ctx.context_ids, ctx.text)
        profile = ctx.profile
        if (
            profile is not None
            and self._title is not None
            and profile.shape == (self._title.shape[1],)
        ):
            norm = float(np.linalg.norm(profile))
            if norm > 0:
                scores = scores + self.config.w_title * (self._title @ (profile / norm))
        return scores.astype(np.float32)

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray | None:
        """The title embeddings ``v`` (L2-normalised) of these items, zero rows for unknown
        ids; ``None`` when this scorer was built without them."""
        if self._title is None:
            return None
        out = np.zeros((len(item_ids), self._title.shape[1]), dtype=np.float32)
        for n, item in enumerate(item_ids):
            row = self._index.get(item)
            if row is not None and row < self._title.shape[0]:
                out[n] = self._title[row]
        return out

    def add_item(self, item: NewItem) -> None:
        """A new catalog item with no dialogue evidence: its KG entities (``entity_ids``, or
        the product row's brand, category and attributes) place it in the KG term, its title
        (when the scorer has text vectors and an encoder) in the text-embedding terms."""
        row = item.row
        entities = row.get("entity_ids") or [
            row.get("brand_id"),
            row.get("category_id"),
            *row.get("attribute_ids", ()),
        ]
        item_id = item.item_id
        r = self._index[item_id] if item_id in self._index else self._grow(item_id)
        known = dict.fromkeys(e for e in entities if e and e in self._entity_index)
        cols = [self._entity_index[e] for e in known if e != item_id]
        cols.append(self._entity_index[item_id])
        weights = self._idf[cols]
        norm = float(np.linalg.norm(weights)) or 1.0
        x = self._x.tolil()
        x[r, :] = 0.0
        for c, w in zip(cols, weights, strict=True):
            x[r, c] = w / norm
        self._x = sparse.csr_matrix(x)
        if self._title is not None:
            vector = np.zeros(self._title.shape[1])
            title = str(row.get("title") or "")
            if self._encode is not None and title:
                vector = np.asarray(self._encode([title]), dtype=np.float64)[0]
                vector /= float(np.linalg.norm(vector)) or 1.0
            self._title[r] = vector

    def _grow(self, item_id: str) -> int:
        """Append ``item_id`` to the catalog with no counts; its own entity column too."""
        r = len(self._ids)
        self._ids.append(item_id)
        self._index[item_id] = r
        n = r + 1
        self._prior = np.append(self._prior, 0.0)
        self._pop = np.append(self._pop, 0.0)
        self._co_norm = np.append(self._co_norm, 1.0)
        for name in ("_co", "_seq"):
            m = getattr(self, name).tocsr(copy=True)
            m.resize((n, n))
            setattr(self, name, m)
        for name in ("_w", "_near_y"):
            m = getattr(self, name).tocsr(copy=True)
            m.resize((m.shape[0], n))
            setattr(self, name, m)
        col = self._entity_index.setdefault(item_id, len(self._entity_index))
        width = len(self._entity_index)
        x = self._x.tocsr(copy=True)
        x.resize((n, width))
        self._x = x
        t = self._t.tocsr(copy=True)
        t.resize((t.shape[0], width))
        self._t = t
        if col >= len(self._idf):
            self._idf = np.append(self._idf, math.log((n + 1) / 2) + 1.0)
        if self._title is not None:
            self._title = np.vstack([self._title, np.zeros((1, self._title.shape[1]))])
        return r

    # -- save / load --------------------------------------------------------------------------

    _DENSE = ("_prior", "_pop", "_co_norm", "_idf", "_near_q")
    _SPARSE = ("_co", "_x", "_t", "_w", "_seq", "_near_y")

    def save(self, directory: Path) -> Path:
        """Write the fitted counts, vectors and trees into ``directory`` (atomically;
        ``models/scoring/comention_files.py``). A scorer given ``encode_text`` as a function
        cannot be saved (it could not be rebuilt): build it with ``text_encoder``."""
        if self._encode is not None and self._text_encoder is None:
            raise ConfigError(
                "comention scorer: encode_text was passed as a function, which cannot be "
                "saved; build the scorer with text_encoder={...} (TextEncoder arguments)"
            )
        meta = {
            "kind": self.kind,
            "version": self._version,
            "created": time.time(),
            "config": dataclasses.asdict(self.config),
            "text_encoder": self._text_encoder,
        }
        ids = {"items": self._ids, "entities": list(self._entity_index), "vocab": list(self._vocab)}
        dense = {name.lstrip("_"): getattr(self, name) for name in self._DENSE}
        if self._title is not None:
            dense["title"] = self._title
        matrices = {name.lstrip("_"): getattr(self, name) for name in self._SPARSE}
        files = ScorerFiles(meta, ids, dense, matrices, self._reranker)
        write_scorer_files(directory, files)
        logger.info("saved %s scorer %s to %s", self.kind, self._version, directory)
        return Path(directory)

    @classmethod
    def load(cls, directory: Path) -> CoMentionScorer:
        """Read a scorer written by :meth:`save` (the reranker's trees are a pickle: load only
        checkpoints you trained)."""
        stems = {name: name.lstrip("_") for name in cls._SPARSE}
        files = read_scorer_files(directory, cls.kind, stems)
        meta, ids, dense = files.meta, files.ids, files.dense
        scorer = cls.__new__(cls)
        scorer.config = CoMentionConfig(**meta["config"])
        scorer._version = meta["version"]
        scorer._ids = list(ids["items"])
        scorer._index = {i: n for n, i in enumerate(scorer._ids)}
        scorer._entity_index = {e: n for n, e in enumerate(ids["entities"])}
        scorer._vocab = {w: n for n, w in enumerate(ids["vocab"])}
        for name in cls._DENSE:
            setattr(scorer, name, dense[name.lstrip("_")])
        scorer._title = dense.get("title")
        for name, m in files.matrices.items():
            setattr(scorer, name, m)
        scorer._text_encoder = meta.get("text_encoder")
        scorer._encode = _text_encoder(scorer._text_encoder) if scorer._text_encoder else None
        scorer._reranker = files.reranker
        return scorer


def _text_encoder(spec: Mapping[str, Any]) -> Callable[[Sequence[str]], np.ndarray]:
    """``encode_text`` of a MiniLM :class:`~models.encoders.TextEncoder` built from ``spec``."""
    from models.encoders import TextEncoder

    return TextEncoder(**spec).encode


__all__ = ["CoMentionScorer", "words"]
