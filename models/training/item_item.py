"""EASE^R item-item weights beside the GNN's vectors: a term of the served score for known users.

The GNN's user vector compresses a user's training history into ``d`` numbers; EASE^R (Steck
2019, https://arxiv.org/abs/1905.03375) keeps the history and learns in closed form how much
having item ``j`` says for item ``k``. The two rank differently enough that their sum ranks
better than either on MovieLens-100K (``bench.movielens_peers``, bench/RESULTS.md). A
checkpoint that keeps the term serves, for a user the model was trained on,

.. math::
    s(i) = z(h_u^\\top h_i) + w\\, z\\big((x_u B)_i\\big) + \\dots

(``z``: standardised over the catalogue, :func:`standardize`; ``x_u``: the user's training
items; ``B``: EASE^R's weights). ``lambda`` and ``w`` are chosen by :func:`choose_item_item`
on the validation split, after the GNN's own early stop; ``w = 0`` (no term) is one of the
choices, so a catalogue where it does not help keeps the GNN alone.

Only the ``max_items`` most-interacted items get weights (a dense ``(m, m)`` matrix, ``O(m^3)``
to fit, ``m^2`` half-floats to keep). Every other catalogue item with text -- items nobody
interacted with in training, rare ones past the cap -- borrows the mean column of its ``k``
text-nearest covered items (cosine of the frozen MiniLM vectors the GNN trains with): its term
is the mean of theirs, so a new item a shopper's history points to by content is lifted with
them (:meth:`ItemItem.with_text_neighbours`); a product added after training borrows the same
way (:meth:`ItemItem.borrow`, from the covered items' text vectors the checkpoint keeps).
Items without text score 0 on this term.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from models.metrics import ScoresOf, scored_metrics

if TYPE_CHECKING:
    from models.config import TrainConfig

logger = logging.getLogger(__name__)

__all__ = [
    "FEW_ITEMS",
    "ItemItem",
    "blended_scores",
    "choose_item_item",
    "ease_from_gram",
    "ease_weights",
    "few_item_scores",
    "item_item_term",
    "standardize",
    "user_histories",
]

#: checkpoint tensors of the term: covered catalogue rows ``(m,)`` and weights ``(m, m)``
ROWS, WEIGHTS = "item_item_rows", "item_item_weights"
#: ... and the rows scored by their text neighbours ``(n,)``, those neighbours ``(n, k)``
BORROWERS, NEIGHBOURS = "item_item_borrowers", "item_item_neighbours"
#: ... and the covered items' unit text vectors ``(m, d)``
TEXT = "item_item_text"

#: users whose rows of ``X`` are made at once while fitting (float32: 4096 x m x 4 bytes)
_USERS_PER_CHUNK = 4096
#: elements of one borrowers' gather (float32: 64 MiB)
_GATHER_BUDGET = 1 << 24


def ease_weights(x: np.ndarray, lam: float) -> np.ndarray:
    """EASE^R's item-item weights ``B`` for interaction matrix ``x`` and L2 weight ``lam``.

    ``B = argmin ||X - XB||_F^2 + lam ||B||_F^2`` subject to ``diag(B) = 0`` has the closed
    form, with ``P = (X^T X + lam I)^{-1}``,

    .. math::
        B_{ij} = -P_{ij} / P_{jj} \\quad (i \\ne j), \\qquad B_{jj} = 0.

    An item with no interactions has an all-zero column of ``X``, so its column of ``B`` is
    zero: EASE^R cannot score an item it has never seen. Shape ``(I, I)``.
    """
    return ease_from_gram(x.T @ x, lam)


def ease_from_gram(gram: np.ndarray, lam: float) -> np.ndarray:
    """:func:`ease_weights` from ``X^T X`` (float64, changed in place)."""
    if lam <= 0:
        raise ValueError("lam must be > 0")
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    b = p / (-np.diag(p))
    b[np.diag_indices_from(b)] = 0.0
    return b


def standardize(scores: Tensor) -> Tensor:
    """z-score over the last dimension (the catalogue), so terms of different scales add."""
    if scores.shape[-1] < 2:
        return scores - scores.mean(-1, keepdim=True)
    mean, std = scores.mean(-1, keepdim=True), scores.std(-1, keepdim=True)
    return (scores - mean) / std.clamp(min=1e-6)


@dataclass(frozen=True, slots=True)
class ItemItem:
    """EASE^R weights over catalogue rows ``rows``: ``weights[a, b]`` is how much having
    item ``rows[a]`` scores item ``rows[b]``; ``weight`` is ``w`` of the module docstring."""

    rows: Tensor
    weights: Tensor
    weight: float
    lam: float
    #: catalogue rows scored by their text neighbours ``(n,)`` and those neighbours'
    #: positions in ``rows`` ``(n, k)`` (``None``: none)
    borrowers: Tensor | None = None
    neighbours: Tensor | None = None
    #: the covered items' unit text vectors ``(m, d)``: what an item added later is matched
    #: by (:meth:`borrow`; ``None``: items added later score 0)
    text: Tensor | None = None

    @classmethod
    def fit(
        cls, pairs: np.ndarray, num_items: int, lam: float, max_items: int, weight: float = 1.0
    ) -> ItemItem:
        """EASE^R on the training ``[user, item]`` pairs, over the ``max_items`` items with the
        most of them: ``B = -P / diag(P)`` off the diagonal, 0 on it, ``P = (X^T X + lam I)^-1``.
        Weights are rounded to half floats, as the checkpoint keeps them."""
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        counts = np.bincount(pairs[:, 1], minlength=num_items)
        top = np.argsort(-counts, kind="stable")[:max_items]
        rows = np.sort(top[counts[top] > 0])
        column = np.full(num_items, -1, dtype=np.int64)
        column[rows] = np.arange(len(rows))
        kept = pairs[column[pairs[:, 1]] >= 0]
        users, user_rows = np.unique(kept[:, 0], return_inverse=True)
        gram = np.zeros((len(rows), len(rows)))
        for start in range(0, len(users), _USERS_PER_CHUNK):  # X never whole: shops have many
            part = (user_rows >= start) & (user_rows < start + _USERS_PER_CHUNK)
            x = np.zeros((min(_USERS_PER_CHUNK, len(users) - start), len(rows)), dtype=np.float32)
            x[user_rows[part] - start, column[kept[part, 1]]] = 1.0
            gram += (x.T @ x).astype(np.float64)
        weights = torch.from_numpy(ease_from_gram(gram, lam)).to(torch.float16).float()
        return cls(torch.from_numpy(rows), weights, weight, lam)

    def with_text_neighbours(self, text: Tensor, has_text: Tensor, k: int) -> ItemItem:
        """This term with every uncovered item that has text (``has_text``, ``(I,)``) scored
        as the mean of its ``k`` most cosine-similar covered items (``text``: ``(I, d)``)."""
        covered = torch.zeros(len(text), dtype=torch.bool)
        covered[self.rows.cpu()] = True
        borrowers = torch.nonzero(~covered & has_text.cpu().bool()).flatten()
        k = min(k, len(self.rows))
        if k < 1:
            return dataclasses.replace(self, borrowers=None, neighbours=None, text=None)
        unit = torch.nn.functional.normalize(text.float().cpu(), dim=1)
        targets = unit[self.rows.cpu()].to(torch.float16).float()  # as the checkpoint keeps it
        chunks = [
            (unit[chunk] @ targets.T).topk(k, dim=1).indices for chunk in borrowers.split(4096)
        ]
        neighbours = torch.cat(chunks) if chunks else torch.zeros(0, k, dtype=torch.long)
        return dataclasses.replace(self, borrowers=borrowers, neighbours=neighbours, text=targets)

    def borrow(self, row: int, vector: np.ndarray) -> ItemItem:
        """This term with catalogue row ``row`` (an item added after training, text vector
        ``vector`` from the encoder training used) scored by its text neighbours as
        :meth:`with_text_neighbours` scores an uncovered item; a covered row keeps its own
        column, and without text vectors nothing changes."""
        if self.text is None or self.borrowers is None or self.neighbours is None:
            return self
        if bool((self.rows == row).any()):
            return self
        unit = torch.nn.functional.normalize(torch.as_tensor(vector).float().cpu(), dim=0)
        nearest = (self.text.cpu() @ unit).topk(self.neighbours.shape[1]).indices
        keep = self.borrowers.cpu() != row
        device = self.borrowers.device
        borrowers = torch.cat([self.borrowers.cpu()[keep], torch.tensor([row])])
        neighbours = torch.cat([self.neighbours.cpu()[keep], nearest[None]])
        return dataclasses.replace(
            self, borrowers=borrowers.to(device), neighbours=neighbours.to(device)
        )

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor], extra: dict[str, Any]) -> ItemItem | None:
        """The term a checkpoint keeps (``None``: none, or a weight of 0)."""
        if ROWS not in tensors or not extra.get("item_item_weight"):
            return None
        borrowers, text = tensors.get(BORROWERS), tensors.get(TEXT)
        return cls(
            tensors[ROWS].long(),
            tensors[WEIGHTS].float(),
            float(extra["item_item_weight"]),
            float(extra.get("item_item_lambda", 0.0)),
            None if borrowers is None else borrowers.long(),
            None if borrowers is None else tensors[NEIGHBOURS].long(),
            None if text is None else text.float(),
        )

    def tensors(self) -> dict[str, Tensor]:
        out = {ROWS: self.rows.cpu(), WEIGHTS: self.weights.to(torch.float16).cpu()}
        if self.borrowers is not None and self.neighbours is not None:
            out.update({BORROWERS: self.borrowers.cpu(), NEIGHBOURS: self.neighbours.cpu()})
        if self.text is not None:
            out[TEXT] = self.text.to(torch.float16).cpu()
        return out

    def extra(self) -> dict[str, float]:
        return {"item_item_weight": self.weight, "item_item_lambda": self.lam}

    def to(self, device: torch.device | str) -> ItemItem:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return dataclasses.replace(
            self, rows=self.rows.to(device), weights=self.weights.to(device),
            borrowers=move(self.borrowers), neighbours=move(self.neighbours),
        )  # fmt: skip

    def _spread(self, covered: Tensor, num_items: int) -> Tensor:
        """Scores over the catalogue from the covered items' ``(..., m)``: 0 off the covered
        rows, the neighbours' mean on the borrowers'."""
        out = torch.zeros(*covered.shape[:-1], num_items, device=covered.device)
        out[..., self.rows] = covered
        if self.borrowers is not None and self.neighbours is not None:
            # the gather is (batch, borrowers, k): in parts, for many users and borrowers
            lead = covered[..., :1].numel()
            step = max(1, _GATHER_BUDGET // max(1, lead * self.neighbours.shape[1]))
            for start in range(0, len(self.borrowers), step):
                part = slice(start, start + step)
                out[..., self.borrowers[part]] = covered[..., self.neighbours[part]].mean(-1)
        return out

    def _covered(self, items: np.ndarray) -> Tensor:
        """Positions in ``rows`` of the catalogue rows ``items`` that are covered, each once."""
        wanted = torch.from_numpy(np.unique(np.asarray(items, dtype=np.int64)))
        rows = self.rows.cpu()
        if not len(rows):
            return wanted[:0]
        at = torch.searchsorted(rows, wanted).clamp(max=len(rows) - 1)
        return at[rows[at] == wanted]

    def history_matrix(self, histories: Sequence[np.ndarray]) -> Tensor:
        """``(len(histories), m)``: 1 where a user's training items meet the covered rows."""
        x = torch.zeros(len(histories), len(self.rows))
        for n, items in enumerate(histories):
            x[n, self._covered(items)] = 1.0
        return x.to(self.weights.device)

    def user_scores(self, items: np.ndarray, num_items: int) -> Tensor:
        """One user's ``x_u B`` over the catalogue ``(num_items,)`` (what :meth:`scores` gives
        for one history): the sum of the covered items' rows of ``B``, no dense product."""
        hits = self._covered(items).to(self.weights.device)
        return self._spread(self.weights[hits].sum(0), num_items)

    def scores(self, x: Tensor, num_items: int) -> Tensor:
        """``x_u B`` over the catalogue ``(len(x), num_items)`` (see :meth:`_spread`)."""
        return self._spread(x @ self.weights, num_items)


def user_histories(pairs: np.ndarray, num_users: int) -> list[np.ndarray]:
    """Each user's items in ``[user, item]`` pairs, by user index (in the pairs' order)."""
    order = np.argsort(pairs[:, 0], kind="stable")
    bounds = np.searchsorted(pairs[order, 0], np.arange(num_users + 1))
    return [pairs[order[bounds[u] : bounds[u + 1]], 1] for u in range(num_users)]


#: A user the model was trained on with at most this many training items is served as a
#: shopper it never saw whose session liked those items (:func:`few_item_scores`; the scorer:
#: ``models.scoring.GnnScorer``): on ML-100K's cold-valid users with 1 and 3 training items
#: that ranked above their own trained vectors (``bench.coldstart --users 1,3``). Past 3 the
#: validation sets disagree (users cut to 5 or 10 items gain, the warm split's light users
#: lose): bench/RESULTS.md, 2026-12-04.
FEW_ITEMS = 3


def few_item_scores(items: Tensor, mean_user: Tensor, histories: Sequence[np.ndarray]) -> Tensor:
    """``(len(histories), I)``: per user, ``z(items @ mean_user)`` (the trained users' mean in
    place of their vector) plus ``z`` of the items' cosine to the mean of the history's item
    vectors (none for an empty history), as the scorer scores a session that liked them."""
    prior = standardize(items @ mean_user)
    unit = torch.nn.functional.normalize(items, dim=1)
    out = prior.expand(len(histories), -1).clone()
    for n, rows in enumerate(histories):
        if len(rows):
            liked = torch.nn.functional.normalize(items[torch.from_numpy(rows)].mean(0), dim=0)
            out[n] += standardize(unit @ liked)
    return out


def blended_scores(
    users: Tensor, items: Tensor, term: ItemItem | None, train: np.ndarray
) -> ScoresOf:
    """The served warm score of every item for a batch of users (see the module docstring):
    ``z(users @ items.T) + w z(x_u B)``, ``x_u`` from the ``train`` pairs; users with at most
    :data:`FEW_ITEMS` training items by :func:`few_item_scores` instead."""
    histories = user_histories(train, users.shape[0])
    few = np.array([len(h) <= FEW_ITEMS for h in histories], dtype=bool)
    mean_user = users.mean(0)

    def scores_of(batch: np.ndarray) -> Tensor:
        total = standardize(users[torch.from_numpy(batch)] @ items.T)
        if term is not None:
            x = term.history_matrix([histories[u] for u in batch])
            total += term.weight * standardize(term.scores(x, items.shape[0])).to(total.device)
        if len(small := np.flatnonzero(few[batch])):
            rows = [histories[batch[n]] for n in small]
            total[torch.from_numpy(small)] = few_item_scores(items, mean_user, rows).to(total)
        return total

    return scores_of


def choose_item_item(
    users: Tensor,
    items: Tensor,
    train: np.ndarray,
    valid: np.ndarray,
    lambdas: Sequence[float],
    weights: Sequence[float],
    max_items: int,
    extend: Callable[[ItemItem], ItemItem] = lambda term: term,
) -> tuple[ItemItem | None, dict[str, Any]]:
    """EASE^R for each ``lambda`` and each term weight ``w``, scored with the trained vectors
    on the validation pairs (train items excluded); the best valid NDCG@10 wins, the GNN
    alone (``w = 0``) included. Returns the term (``None``: the GNN alone won) and a record
    of every point's valid NDCG@10. ``extend`` adds to each fitted term what it serves with
    (:meth:`ItemItem.with_text_neighbours`)."""
    users, items = users.float().cpu(), items.float().cpu()
    num_users, num_items = users.shape[0], items.shape[0]

    def valid_ndcg(term: ItemItem | None) -> float:
        scores_of = blended_scores(users, items, term, train)
        return scored_metrics(scores_of, num_users, num_items, valid, [train])["ndcg@10"]

    alone = valid_ndcg(None)
    best: tuple[float, ItemItem | None] = (alone, None)
    grid: dict[str, float] = {}
    for lam in lambdas:
        fitted = extend(ItemItem.fit(train, num_items, lam, max_items))
        for w in weights:
            term = dataclasses.replace(fitted, weight=float(w))
            grid[f"lambda={lam:g},w={w:g}"] = ndcg = valid_ndcg(term)
            if ndcg > best[0]:
                best = (ndcg, term)
    chosen = best[1]
    logger.info(
        "item-item term: valid NDCG@10 %.4f with it (%s), %.4f without",
        best[0], "none" if chosen is None else f"lambda {chosen.lam:g}, w {chosen.weight:g}",
        alone,
    )  # fmt: skip
    return chosen, {"valid_ndcg@10_gnn_alone": alone, "grid": grid}


def item_item_term(
    config: TrainConfig,
    users: Tensor,
    items: Tensor,
    train: np.ndarray,
    valid: np.ndarray,
    text: tuple[Tensor, Tensor] | None = None,
) -> tuple[ItemItem | None, dict[str, Any]]:
    """The term a training run keeps (``config.item_item``): chosen on ``valid`` by
    :func:`choose_item_item`; with no validation pairs, fitted only when the grid is one
    point (a fine-tune keeps its checkpoint's choice), else none. ``text``: the items' text
    vectors and which items have text, for ``config.item_item_text_neighbours``."""
    lambdas, weights = config.item_item_lambdas, config.item_item_weights
    if not config.item_item or not len(train):
        return None, {}
    k = config.item_item_text_neighbours

    def extend(term: ItemItem) -> ItemItem:
        if text is None or k < 1:
            return term
        vectors, has_text = text
        return term.with_text_neighbours(vectors, has_text.reshape(len(has_text), -1).any(1), k)

    if len(valid):
        return choose_item_item(
            users, items, train, valid, lambdas, weights, config.item_item_max_items, extend
        )
    if len(lambdas) == 1 and len(weights) == 1:
        term = extend(ItemItem.fit(train, items.shape[0], lambdas[0], config.item_item_max_items))
        return dataclasses.replace(term, weight=weights[0]), {"fitted": "no valid, one point"}
    return None, {}
