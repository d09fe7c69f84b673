"""What :class:`~models.scoring.CoMentionScorer` counts in training dialogues: popularity,
co-mentions, the words said before each suggestion, what was mentioned before it, and (with an
encoder) the conversations that preceded each suggestion.

A pure function of the dialogues, the catalog index, the prior and the entity matrix, so a
scorer and its cross-fitting twin (the reranker's) count the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from models.crs.crs_dialogue import SEEKER, CrsDialogue, target_turns

from .comention_config import CoMentionConfig

__all__ = ["CoMentionCounts", "count_dialogues", "entity_matrix", "words"]

_WORD = re.compile(r"[a-z][a-z']+")
_STOP_WORDS = """a an the and or but if of to in on at for with by from as is are was were
    be been am i
    you he she it we they me my your his her its our their this that these those what which who
    whom do does did have has had not no so too very can could would should will just like
    really about any some all one there here then than also more most much well yes yeah ok okay
    hi hello hey thanks thank good great movie movies film films seen see watch watched love
    loved liked think know sure lot something anything maybe into out up get got how
    oh im i'm it's that's don't dont have't haven't"""
_STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    """Lower-cased content words of ``text`` (stop words and titles' years dropped)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


@dataclass(slots=True)
class CoMentionCounts:
    """The counted matrices (see :class:`~models.scoring.CoMentionScorer` for their use);
    ``near_q``/``near_y`` are ``None`` when nothing was encoded."""

    pop: np.ndarray
    co: sparse.csr_matrix
    vocab: dict[str, int]
    t: sparse.csr_matrix
    w: sparse.csr_matrix
    seq: sparse.csr_matrix
    near_q: np.ndarray | None
    near_y: sparse.csr_matrix | None


def count_dialogues(
    dialogues: Sequence[CrsDialogue],
    index: Mapping[str, int],
    prior: np.ndarray,
    x: sparse.csr_matrix,
    config: CoMentionConfig,
    encode: Callable[[Sequence[str]], np.ndarray] | None,
) -> CoMentionCounts:
    """Count ``dialogues`` over the catalog ``index`` (item id -> row), starting from the
    popularity ``prior``; ``x`` is the items' entity matrix."""
    cfg = config
    near_q: np.ndarray | None = None
    near_y: sparse.csr_matrix | None = None
    n = len(index)
    pop = prior.copy()
    co_rows: list[int] = []
    co_cols: list[int] = []
    word_rows: list[int] = []
    word_items: list[int] = []
    seq_rows: list[int] = []
    seq_cols: list[int] = []
    collect_near = bool(cfg.w_near) and encode is not None
    near_texts: list[str] = []  # the conversation before each suggestion ...
    near_items: list[list[int]] = []  # ... and what was suggested
    vocab: dict[str, int] = {}
    for d in dialogues:
        mentioned = [index[i] for i in d.item_ids if i in index]
        for i in mentioned:
            pop[i] += cfg.mention_weight
        for a in mentioned:
            for b in mentioned:
                co_rows.append(a)
                co_cols.append(b)
        seen_words: list[str] = []
        before: list[int] = []
        for m in d.messages:
            for t in m.targets:
                if t in index:
                    pop[index[t]] += 1.0
                    for c in dict.fromkeys(before):  # a set's order would vary by run
                        seq_rows.append(c)
                        seq_cols.append(index[t])
                    for w in dict.fromkeys(seen_words):
                        word_rows.append(vocab.setdefault(w, len(vocab)))
                        word_items.append(index[t])
            before += [index[i] for i in m.item_ids if i in index]
            if m.role == SEEKER:
                seen_words += words(m.text)
        if collect_near:
            for m, _, text in target_turns(d):
                suggested = [index[t] for t in m.targets if t in index]
                if suggested and text:
                    near_texts.append(text)
                    near_items.append(suggested)
    co = sparse.csr_matrix((np.ones(len(co_rows)), (co_rows, co_cols)), shape=(n, n))
    co.sum_duplicates()
    diag = co.diagonal().astype(np.float64)
    diag[diag == 0] = 1.0
    inv = sparse.diags(1.0 / np.sqrt(diag))
    co = sparse.csr_matrix(inv @ co @ inv)
    co.setdiag(0.0)
    co.eliminate_zeros()
    wi = sparse.csr_matrix(
        (np.ones(len(word_rows)), (word_rows, word_items)), shape=(len(vocab), n)
    )
    counts = np.asarray(wi.sum(axis=1)).ravel() + cfg.text_smoothing
    t = sparse.csr_matrix(sparse.diags(1.0 / counts) @ wi @ x)
    w = sparse.csr_matrix(sparse.diags(1.0 / counts) @ wi)
    seq = sparse.csr_matrix((np.ones(len(seq_rows)), (seq_rows, seq_cols)), shape=(n, n))
    seq.sum_duplicates()
    out = np.asarray(seq.sum(axis=1)).ravel() + cfg.text_smoothing
    seq_norm = sparse.csr_matrix(sparse.diags(1.0 / out) @ seq)
    if near_texts:
        q = np.asarray(encode(near_texts), dtype=np.float64)  # type: ignore[misc]
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        near_q = q / np.where(norms == 0, 1.0, norms)
        rows = [r for r, items in enumerate(near_items) for _ in items]
        cols = [i for items in near_items for i in items]
        near_y = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(near_texts), n))
    return CoMentionCounts(pop, co, vocab, t, w, seq_norm, near_q, near_y)


def entity_matrix(
    item_ids: Sequence[str],
    index: Mapping[str, int],
    item_entities: Mapping[str, Iterable[str]],
    hub_df: float,
) -> tuple[sparse.csr_matrix, dict[str, int], np.ndarray]:
    """The items' KG entities as L2-normalised IDF-weighted rows (every item also its own
    entity), the entity column index and the IDF (0 for hubs linked to more than
    ``max(2, hub_df x n)`` items)."""
    n = len(item_ids)
    entity_index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for item, ents in item_entities.items():
        r = index.get(item)
        if r is None:
            continue
        # sorted: entity columns, and so the float sums over them, in one order whatever
        # Python's string hashing (a set's order changes from one process to the next)
        for e in dict.fromkeys((*sorted(ents), item)):
            rows.append(r)
            cols.append(entity_index.setdefault(e, len(entity_index)))
    for item in item_ids:  # every item is its own entity (movie-movie edges)
        rows.append(index[item])
        cols.append(entity_index.setdefault(item, len(entity_index)))
    x = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(entity_index)))
    x.data[:] = 1.0
    x.sum_duplicates()
    x.data[:] = 1.0
    df = np.asarray((x > 0).sum(axis=0)).ravel()
    idf = np.log((n + 1) / (df + 1)) + 1.0
    idf[df > max(2, hub_df * n)] = 0.0
    x = x @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ x), entity_index, idf
