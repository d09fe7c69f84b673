"""Resolve a mention ("nkie", "t shirts", "LOTR") to ranked graph nodes, or to NIL."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from kg.types import LexiconEntry, lexicon_fingerprint
from kgrec.errors import KgrecError
from kgrec.startup_cache import load_or_build

from . import _text
from ._index import AKA, ALIAS, NAME, LexiconIndex, Posting, build_index
from .link_candidate import LinkCandidate
from .linker_config import LinkerConfig
from .name_encoder import NameEncoder

if TYPE_CHECKING:
    from kg.store import GraphStore

logger = logging.getLogger(__name__)

# Ranking tie-break: stronger evidence first when scores are equal.
_METHOD_RANK = {
    m: i
    for i, m in enumerate(
        (
            "exact",
            "alias",
            "normalized",
            "fuzzy",
            "acronym",
            "prefix",
            "surname",
            "fulltext",
            "embedding",
        )
    )
}


class EntityLinker:
    """Links mentions to the nodes of a lexicon (names and aliases of graph nodes).

    Signals and scores are described in :class:`LinkerConfig`. Cheap signals (hash lookups,
    bounded edit distance) run first; the store's fulltext index and the embedding model are
    consulted only when the best cheap score is below ``fulltext_below`` / ``embed_below``.

    Args:
        lexicon: every name and alias to link to (``GraphStore.lexicon(...)``).
        store: optional; its fulltext index adds candidates (also nodes added after the last
            :meth:`refresh`). A failing store is logged and skipped.
        encoder: optional :class:`NameEncoder` (e.g. :class:`MiniLMNameEncoder`); the lexicon
            is embedded once (and on :meth:`refresh`, only new texts).
        config: thresholds and scores.
        cache_dir: where the built index and name vectors are kept for the next start
            (:mod:`kgrec.startup_cache`, keyed by the lexicon, the config, the encoder's
            ``cache_key`` and this package's code); ``None``, or an encoder without a
            ``cache_key``: built each time.

    Thread-safe: :meth:`refresh` builds a new index and swaps it in.
    """

    def __init__(
        self,
        lexicon: Sequence[LexiconEntry],
        *,
        store: GraphStore | None = None,
        encoder: NameEncoder | None = None,
        config: LinkerConfig | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.config = config or LinkerConfig()
        self._store = store
        self._encoder = encoder
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}  # embedding per lexicon text, kept on refresh
        self._mention_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        # (index, embedding matrix (S, d), entities per matrix row), swapped as one on refresh
        self._state: tuple[LexiconIndex, np.ndarray, list[list[int]]] = (
            LexiconIndex(),
            np.zeros((0, 0), dtype=np.float32),
            [],
        )
        self._lexicon: list[LexiconEntry] = []
        self._generic = frozenset(_text.normalize(w) for w in self.config.generic_words)
        self._expansions = tuple(
            (_text.normalize(a), _text.normalize(b)) for a, b in self.config.expansions
        )
        self.refresh(lexicon)

    # -- building -------------------------------------------------------------------------

    def refresh(self, lexicon: Sequence[LexiconEntry]) -> None:
        """Rebuild the lookup tables from a new lexicon (e.g. after nodes were added)."""
        index, matrix = self._build_cached(lexicon)
        rows = index.embed_entities if matrix.size else []
        with self._lock:
            self._state = (index, matrix, rows)
            self._lexicon = list(lexicon)
        logger.info("linker ready: %d entities, %d surfaces", len(index), len(lexicon))

    def _build_cached(self, lexicon: Sequence[LexiconEntry]) -> tuple[LexiconIndex, np.ndarray]:
        """The index and name-vector matrix of ``lexicon``: from the cache dir when a
        previous start (or refresh) built them for the same lexicon, config, encoder and code."""
        encoder_key = None if self._encoder is None else getattr(self._encoder, "cache_key", None)
        cache_dir = self._cache_dir if (self._encoder is None or encoder_key) else None
        index, matrix = load_or_build(
            cache_dir,
            "linker-index",
            (lexicon_fingerprint(lexicon), repr(self.config), encoder_key),
            lambda: self._build(lexicon),
            sources=("kg.linking", "kg.types"),  # its entries are kg.types objects
        )
        if matrix.size and not self._vectors:  # later refreshes embed only new texts
            self._vectors.update(zip(index.embed_texts, matrix, strict=True))
        return index, matrix

    def _build(self, lexicon: Sequence[LexiconEntry]) -> tuple[LexiconIndex, np.ndarray]:
        cfg = self.config
        index = build_index(
            lexicon,
            acronym_labels=cfg.acronym_labels,
            surname_labels=cfg.surname_labels,
            embed_labels=cfg.embed_labels,
            unlinkable=cfg.unlinkable_surface,
        )
        return index, self._embed_lexicon(index)

    def _embed_lexicon(self, index: LexiconIndex) -> np.ndarray:
        if self._encoder is None or not index.embed_texts:
            return np.zeros((0, 0), dtype=np.float32)
        new = [t for t in index.embed_texts if t not in self._vectors]
        if new:
            for text, vec in zip(new, self._encoder.encode(new), strict=True):
                self._vectors[text] = vec
        return np.stack([self._vectors[t] for t in index.embed_texts]).astype(np.float32)

    def with_config(self, config: LinkerConfig) -> EntityLinker:
        """A linker over the same lexicon, store and encoder with other settings (lexicon
        embeddings are reused, not recomputed)."""
        clone = EntityLinker([], store=self._store, encoder=None, config=config)
        clone._encoder = self._encoder
        clone._vectors = self._vectors
        clone.refresh(self._lexicon)
        return clone

    def clear_cache(self) -> None:
        """Forget cached mention embeddings (for benchmarks that time cold lookups)."""
        with self._lock:
            self._mention_vectors.clear()

    # -- querying -------------------------------------------------------------------------

    def link_best(self, mention: str, label_hint: str | None = None) -> LinkCandidate | None:
        """The best candidate, or ``None`` when the mention is NIL."""
        found = self.link(mention, label_hint=label_hint, k=1)
        return found[0] if found else None

    def link(
        self, mention: str, *, label_hint: str | None = None, k: int = 5
    ) -> list[LinkCandidate]:
        """Up to ``k`` candidates scoring at least ``nil_threshold``, best first; ``[]`` is NIL.

        ``label_hint`` (e.g. ``"Brand"``) lowers candidates of other labels by
        ``hint_penalty`` without excluding them.
        """
        cfg = self.config
        index, matrix, rows = self._state  # one consistent snapshot, even during a refresh
        text = mention[: cfg.max_mention_chars]
        norm = _text.normalize(text)
        if not norm or k <= 0:
            return []
        hint = label_hint.casefold() if label_hint else None
        best: dict[int, tuple[float, str]] = {}  # entity -> (score, method)
        extra: dict[str, tuple[float, str, str, str]] = {}  # fulltext hits outside the index

        def offer(ent: int, score: float, method: str) -> None:
            if hint is not None and index.labels[ent].casefold() != hint:
                score *= cfg.hint_penalty
            old = best.get(ent)
            if old is None or score > old[0] or (score == old[0] and _rank(method) < _rank(old[1])):
                best[ent] = (score, method)

        def top() -> float:
            return max((s for s, _ in best.values()), default=0.0)

        forms = _mention_forms(text, norm, self._generic, self._expansions)
        self._lookup_exact(index, forms, offer)
        if top() < cfg.exact_score * cfg.hint_penalty:
            self._lookup_fuzzy(index, forms, offer)
            self._lookup_partial(index, norm, offer, acronym=not _title_case_word(text))
        if (
            self._store is not None
            and top() < cfg.fulltext_below
            and len(_content_stems(norm)) >= cfg.fulltext_min_words
        ):
            self._lookup_fulltext(index, text, norm, offer, extra, hint)
        if matrix.size and self._encoder is not None and top() < cfg.embed_below:
            # "scary movies" is embedded as "scary": the generic noun only adds noise
            bare = _text.strip_generic(norm, self._generic) if self._generic else norm
            self._lookup_embedding(matrix, rows, bare, offer)

        ranked = [
            (
                score,
                _rank(method),
                index.entity_ids[ent],
                index.labels[ent],
                index.names[ent],
                method,
            )
            for ent, (score, method) in best.items()
        ]
        ranked += [(s, _rank(m), eid, lab, name, m) for eid, (s, m, lab, name) in extra.items()]
        ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
        out: list[LinkCandidate] = []
        for score, _, eid, label, name, method in ranked:
            if score < cfg.nil_threshold or len(out) >= k:
                break
            out.append(LinkCandidate(eid, label, name, round(min(score, 1.0), 4), method))
        return out

    # -- signals --------------------------------------------------------------------------

    def _lookup_exact(self, index: LexiconIndex, forms, offer) -> None:
        cfg = self.config
        kind_score = {NAME: cfg.exact_score, ALIAS: cfg.alias_score, AKA: cfg.aka_score}
        kind_method = {NAME: "exact", ALIAS: "alias", AKA: "alias"}
        for form_text, year in forms:
            postings = index.exact.get(form_text)
            if postings:
                for p, s in _scored(postings, year, cfg, lambda p: kind_score[p.kind]):
                    offer(p.entity, s, kind_method[p.kind])
            for k in _text.keys(form_text):
                postings = index.keyed.get(k) if k else None
                if postings:
                    base = cfg.normalized_score
                    for p, s in _scored(
                        postings, year, cfg, lambda p, b=base: b if p.kind != AKA else b - 0.02
                    ):
                        offer(p.entity, s, "normalized")

    def _lookup_fuzzy(self, index: LexiconIndex, forms, offer) -> None:
        cfg = self.config
        queries = {(q, year) for form_text, year in forms for q in _text.keys(form_text)}
        # a large lexicon is searched only among keys with the mention's first letter
        blocked = len(index.keyed) > cfg.fuzzy_block_above
        for q, year in sorted(queries, key=lambda qy: (qy[0], qy[1] or 0)):
            n = len(q)
            max_d = 2 if n >= cfg.min_len_two_edits else 1 if n >= cfg.min_len_one_edit else 0
            if max_d == 0:
                continue
            choices: list[str] = []
            for length in range(n - max_d, n + max_d + 1):
                if blocked:
                    choices.extend(index.keys_by_len_first.get((length, q[0]), ()))
                else:
                    choices.extend(index.keys_by_len.get(length, ()))
            q_digits = _text.digits(q)
            for key, dist, _ in process.extract(
                q, choices, scorer=OSA.distance, score_cutoff=max_d, limit=None
            ):
                if dist == 0 or _text.digits(key) != q_digits:
                    continue  # "Toy Story 3" is not a typo of "Toy Story"
                sim = 1.0 - dist / max(n, len(key))
                base = cfg.fuzzy_score * sim**cfg.fuzzy_power
                if key[0] != q[0]:
                    base *= cfg.first_letter_penalty  # typos rarely hit the first letter
                for p, s in _scored(
                    index.keyed[key], year, cfg, lambda p, b=base: b if p.kind != AKA else b - 0.02
                ):
                    offer(p.entity, s, "fuzzy")

    def _lookup_partial(
        self, index: LexiconIndex, norm: str, offer, *, acronym: bool = True
    ) -> None:
        """Acronyms (unless ``acronym`` is false), surnames and leading words of longer names."""
        cfg = self.config
        spaced = _text.spaced_key(norm)
        if acronym and " " not in norm and 2 <= len(norm) <= 6:
            ents = index.acronyms.get(norm, ())
            for ent in ents:
                offer(ent, _ambiguous(cfg.acronym_score, len(ents), cfg), "acronym")
        if " " not in spaced and len(spaced) >= 3:
            ents = index.surnames.get(spaced, ())
            for ent in ents:
                offer(ent, cfg.surname_score / len(ents) ** 0.5, "surname")
        if len(spaced) >= cfg.prefix_min_chars:
            hits = index.prefix_entities(spaced)
            n_ent = len({e for e, _ in hits})
            # several words that start a name are good evidence ("willy wonka"); one word is
            # weak ("moonlight" is not "Moonlight and Valentino")
            several = " " in spaced
            for ent, surface in hits:
                coverage = len(spaced) / len(surface)
                fit = 0.6 + 0.4 * coverage if several else coverage**0.5 * 0.8
                offer(ent, _ambiguous(cfg.prefix_score * fit, n_ent, cfg), "prefix")

    def _lookup_fulltext(self, index, text: str, norm: str, offer, extra, hint) -> None:
        cfg = self.config
        labels = list(cfg.fulltext_labels) or sorted(set(index.labels))
        if not labels:
            return
        try:
            hits = self._store.fulltext(text, labels, cfg.fulltext_k)  # type: ignore[union-attr]
        except KgrecError as e:
            logger.warning("fulltext lookup failed, linking without it: %s", e)
            return
        words = _content_stems(norm)
        for hit in hits:
            # both ways: the mention's words found in the name, and the name's words covered
            # ("moonlight" covers half of "Moonlight and Valentino": weak)
            name_words = _content_stems(_text.normalize(hit.name))
            if not words or not name_words:
                continue
            found = sum(1 for w in words if _word_in(w, name_words))
            covered = sum(1 for w in name_words if _word_in(w, words))
            score = cfg.fulltext_score * (found / len(words)) * (covered / len(name_words))
            if score <= 0:
                continue
            ent = index.entity_of.get(hit.entity_id)
            if ent is not None:
                offer(ent, score, "fulltext")
                continue
            if hint is not None and hit.label.casefold() != hint:
                score *= cfg.hint_penalty
            old = extra.get(hit.entity_id)
            if old is None or score > old[0]:
                extra[hit.entity_id] = (score, "fulltext", hit.label, hit.name)

    def _lookup_embedding(self, matrix: np.ndarray, rows, norm: str, offer) -> None:
        cfg = self.config
        vec = self._mention_vector(norm)
        sims = matrix @ vec  # (S,)
        k = min(cfg.embed_k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        span = max(cfg.embed_high - cfg.embed_low, 1e-6)
        for row in top:
            scaled = (float(sims[row]) - cfg.embed_low) / span
            if scaled <= 0:
                continue
            score = cfg.embed_score * min(scaled, 1.0)
            for ent in rows[row]:
                offer(ent, _ambiguous(score, len(rows[row]), cfg), "embedding")

    def _mention_vector(self, norm: str) -> np.ndarray:
        with self._lock:
            vec = self._mention_vectors.get(norm)
            if vec is not None:
                self._mention_vectors.move_to_end(norm)
                return vec
        vec = self._encoder.encode([norm])[0]  # type: ignore[union-attr]
        with self._lock:
            self._mention_vectors[norm] = vec
            while len(self._mention_vectors) > self.config.embed_cache_size:
                self._mention_vectors.popitem(last=False)
        return vec


def _content_stems(normalized: str) -> list[str]:
    """Folded words that carry meaning: no stop words, no single letters."""
    return [_text.stem(t) for t in normalized.split() if len(t) > 1 and t not in _text.STOPWORDS]


def _word_in(word: str, words: Sequence[str]) -> bool:
    """``word`` equals one of ``words`` up to one edit (for words of five letters or more)."""
    if word in words:
        return True
    return len(word) >= 5 and any(
        abs(len(w) - len(word)) <= 1 and OSA.distance(word, w, score_cutoff=1) <= 1 for w in words
    )


def _rank(method: str) -> int:
    return _METHOD_RANK.get(method, len(_METHOD_RANK))


def _ambiguous(score: float, n: int, cfg: LinkerConfig) -> float:
    """Lower a score shared by ``n`` entities (never below half of it)."""
    return max(score - cfg.ambiguity_penalty * (n - 1), score / 2)


def _scored(postings: list[Posting], year: int | None, cfg: LinkerConfig, base):
    """Postings with their scores: ambiguity and (when the mention has a year) year agreement."""
    if year is not None and any(p.year == year for p in postings):
        postings_n = sum(1 for p in postings if p.year == year)
    else:
        postings_n = len(postings)
    for p in postings:
        s = base(p)
        if year is not None and p.year is not None and p.year != year:
            s -= cfg.year_mismatch_penalty
        elif postings_n > 1:
            s = _ambiguous(s, postings_n, cfg)
        yield p, s


def _mention_forms(
    text: str,
    norm: str,
    generic: frozenset[str],
    expansions: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, int | None]]:
    """(normalised text, year) readings of a mention: as typed, as a title, without a year,
    without trailing generic nouns, with abbreviations expanded (and contracted)."""
    forms: list[tuple[str, int | None]] = [(norm, None)]
    for form in _text.title_forms(text):
        if form.primary and (form.text, form.year) not in forms:
            forms.append((form.text, form.year))
    stripped, year = _text.split_mention_year(norm)
    if year is not None and (stripped, year) not in forms:
        forms.append((stripped, year))
    if generic:
        for f, y in list(forms):
            bare = _text.strip_generic(f, generic)
            if bare != f and (bare, y) not in forms:
                forms.append((bare, y))
    for short, long in expansions:
        for f, y in list(forms):
            for a, b in ((short, long), (long, short)):
                if f" {a} " in f" {f} ":
                    alt = f" {f} ".replace(f" {a} ", f" {b} ").strip()
                    if (alt, y) not in forms:
                        forms.append((alt, y))
    return forms


def _title_case_word(text: str) -> bool:
    """One word written as a word at the start of a sentence ("Oh", "Seen"), which an acronym
    is not: acronyms come in capitals ("LOTR") or, typed fast, in lower case ("lotr")."""
    word = text.strip()
    return len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()
