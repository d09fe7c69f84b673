"""KG-grounded span extraction: longest lexicon match plus open-vocabulary guesses.

Lexicon matching is case-, accent- and plural-insensitive and ignores punctuation
("T-shirts" matches "t shirt"); at each position the longest surface wins. Words of five or
more letters one edit away from a unique lexicon word (same first letter) are corrected
("sneekers", "headphnes"); such fuzzy matches keep ``entity_id=None`` for the linker. Spans the
lexicon does not know are still proposed, with ``entity_id=None``, when they look like names:
quoted titles and runs of capitalised words ("Christopher Nolan", "The Matrix").
A small built-in table maps common Chinese shopping words to English surfaces so code-mixed
messages ("推荐 红色 跑鞋") ground to the same entries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from kg.types import LexiconEntry
from models.intent._text import Token, normalize_word, tokenize
from models.intent._titles import (
    CAP_JOINERS,
    TITLE_CUES,
    names_a_title,
    same_number,
    surface_variants,
    title_key,
    written_as_name,
)
from models.intent.intent import Mention

logger = logging.getLogger(__name__)

#: Tie-break between entries sharing a surface: the first label wins.
LABEL_PRIORITY = ("Brand", "Category", "Attribute", "Product", "Entity")

#: Chinese words -> English surfaces tried against the lexicon.
ZH_ALIASES = {
    "耐克": "nike", "阿迪达斯": "adidas", "阿迪": "adidas", "亚瑟士": "asics", "彪马": "puma",
    "新百伦": "new balance", "苹果": "apple", "三星": "samsung", "索尼": "sony",
    "跑鞋": "running shoes", "跑步鞋": "running shoes", "运动鞋": "sneakers", "鞋": "shoes",
    "鞋子": "shoes", "耳机": "headphones", "笔记本": "laptop", "电脑": "laptop",
    "手表": "smartwatch",
    "背包": "backpack", "夹克": "jacket", "外套": "jacket", "T恤": "t-shirt", "袜子": "socks",
    "红色": "red", "红": "red", "蓝色": "blue", "蓝": "blue", "黑色": "black", "黑": "black",
    "白色": "white", "白": "white", "绿色": "green", "粉色": "pink", "灰色": "grey",
    "黄色": "yellow", "防水": "waterproof", "无线": "wireless", "降噪": "noise cancelling",
    "电影": "movies", "喜剧": "comedy", "恐怖": "horror", "科幻": "sci-fi", "动作": "action",
    "爱情": "romance", "动画": "animation", "皮": "leather", "真皮": "leather",
}  # fmt: skip

_COMMON_WORDS = """
a an the and or of in on at to for from with by about as is are be it its this that these those
i me my you your we our they them he she his her show find get give need want looking look
recommend suggest something anything some any what which who how when where why can could would
should will do does did not no yes please thanks thank hi hello hey ok okay maybe also just
only more less too very really so but if then now new good best great nice cool cheap like love
one ones two all up down over under between around top last first second third other another
same different compare tell was were has have had buy got shop store price prices cost kind
type sort style much many well still again lol hmm wow sure yeah nope im ive id ill dont cant
whats lets thats its youre theyre isnt
arent wont didnt doesnt havent hasnt wasnt werent couldnt wouldnt shouldnt
oh ah uh um haha seen hope take loved awesome cute definitely sounds
help else friend friends once always must past stay chat likewise serious fun loves
zero three four five six seven eight nine ten eleven twelve twenty
thirty forty fifty sixty seventy eighty ninety hundred thousand
bye goodbye yep yea sorry alright ooh ooo oooh ohh hmmm ha hahaha anyways absolutely
preferably actually never both either there nothing liked
"""
_COMMON = {normalize_word(w) for w in _COMMON_WORDS.split()}
_PERSON_CUES = {"by", "director", "directed", "starring", "actor", "actress", "featuring", "from"}
_QUOTE_RE = re.compile(
    r"\"([^\"]{2,80})\"|“([^”]{2,80})”|(?:(?<=\s)|^)'([^']{2,80})'(?=[\s,.!?]|$)"
)
_MONEY_AFTER = {"dollar", "buck", "euro", "usd", "eur", "pound", "quid", "$", "€", "£", "块", "元"}
_CATEGORY_AFTER = {"shoe", "sneaker", "jacket", "shirt", "gear", "headphone", "laptop", "brand"}
_MOVIE_CONTEXT = {"movie", "film", "watch", "watched", "directed", "director", "actor", "flick"}


@dataclass(frozen=True, slots=True)
class MentionSpan:
    """A mention and the token range ``[i, j)`` it covers."""

    mention: Mention
    i: int
    j: int


#: Buckets of the name index up to this size are checked for duplicates by a scan, larger
#: ones through a set of their entity ids.
_SCAN_BUCKET = 16


class SpanExtractor:
    """Finds mentions of lexicon entries and name-like spans in a message.

    Args:
        lexicon: names and aliases of linkable nodes (from ``GraphStore``); may be empty.
        open_vocabulary: also propose quoted and capitalised spans not in the lexicon.
    """

    def __init__(self, lexicon: Sequence[LexiconEntry] = (), *, open_vocabulary: bool = True):
        self.open_vocabulary = open_vocabulary
        self._index: dict[tuple[str, ...], list[LexiconEntry]] = {}
        self._ids: dict[tuple[str, ...], set[str]] = {}  # entity ids of the big buckets
        for entry in lexicon:
            for variant in surface_variants(entry.surface):
                self._add(title_key(tokenize(variant)), entry)
        for zh, en in ZH_ALIASES.items():
            entries = self._index.get(title_key(tokenize(en)))
            if entries:
                for entry in list(entries):
                    self._add(title_key(tokenize(zh)), entry)
        del self._ids  # only needed while building
        self._max_len = max((len(k) for k in self._index), default=0)
        self._vocab = {w for key in self._index for w in key}
        # typos are corrected only towards words of brands, categories, attributes and
        # genre-like entities: titles hold too many ordinary words ("Speed" vs "spend")
        fuzzy_vocab = {
            w
            for key, entries in self._index.items()
            if any(e.label != "Product" for e in entries)
            for w in key
        }
        self._deletes: dict[str, set[str]] = {}
        for w in fuzzy_vocab:
            if len(w) >= _FUZZY_MIN_LEN - 1 and w.isalpha():
                for d in _deletes(w) | {w}:
                    self._deletes.setdefault(d, set()).add(w)
        logger.debug("lexicon index: %d keys, longest %d", len(self._index), self._max_len)

    def _add(self, key: tuple[str, ...], entry: LexiconEntry) -> None:
        if not key or all(k.replace(".", "").isdigit() for k in key):
            return
        bucket = self._index.setdefault(key, [])
        if len(bucket) < _SCAN_BUCKET:
            if all(e.entity_id != entry.entity_id for e in bucket):
                bucket.append(entry)
            return
        # a name many entries share (a generated catalogue's "black running socks"): checking
        # each new entry against the whole bucket made building the index quadratic in it
        ids = self._ids.get(key)
        if ids is None:
            ids = self._ids[key] = {e.entity_id for e in bucket}
        if entry.entity_id not in ids:
            ids.add(entry.entity_id)
            bucket.append(entry)

    def __len__(self) -> int:
        return len(self._index)

    # -----------------------------------------------------------------------------------------

    def extract(self, message: str, tokens: list[Token] | None = None) -> list[MentionSpan]:
        """All mentions in ``message``, left to right, non-overlapping."""
        if tokens is None:
            tokens = tokenize(message)
        spans = self._lexicon_spans(message, tokens)
        if self.open_vocabulary:
            taken = [False] * len(tokens)
            for s in spans:
                for k in range(s.i, s.j):
                    taken[k] = True
            spans += self._quoted_spans(message, tokens, taken)
            caps = self._capitalised_spans(message, tokens, taken)
            spans = self._label_unknown(spans, caps, tokens)
        spans.sort(key=lambda s: s.i)
        return spans

    def _correct(self, t: Token) -> str | None:
        """The lexicon word ``t`` is one edit away from (same first letter), if unique."""
        w = t.norm
        if (
            t.kind != "word"
            or len(w) < _FUZZY_MIN_LEN
            or w in self._vocab
            or w in _COMMON
            or not w.isalpha()
        ):
            return None
        cands: set[str] = set()
        for d in _deletes(w) | {w}:
            cands |= self._deletes.get(d, set())
        cands = {c for c in cands if c[0] == w[0] and _edit_distance(c, w) <= 1}
        return next(iter(cands)) if len(cands) == 1 else None

    def _lexicon_spans(self, message: str, tokens: list[Token]) -> list[MentionSpan]:
        pos = [k for k, t in enumerate(tokens) if t.kind != "sym"]
        norms = {k: tokens[k].norm for k in pos}
        fuzzy: set[int] = set()
        if self._deletes:
            for k in pos:
                c = self._correct(tokens[k])
                if c is not None:
                    norms[k] = c
                    fuzzy.add(k)
        out: list[MentionSpan] = []
        p = 0
        while p < len(pos):
            hit = None
            for length in range(min(self._max_len, len(pos) - p), 0, -1):
                key = tuple(norms[k] for k in pos[p : p + length])
                entries = self._index.get(key)
                if entries:
                    entries = self._accepted(key, entries, tokens, pos[p], pos[p + length - 1] + 1)
                if entries:
                    hit = (length, entries)
                    break
            if hit is None:
                p += 1
                continue
            length, entries = hit
            i, j = pos[p], pos[p + length - 1] + 1
            if (
                all(e.label == "Product" for e in entries)
                and j < len(tokens)
                and tokens[j].kind == "num"
                and tokens[j].start == tokens[j - 1].end + 1
                and not (j + 1 < len(tokens) and tokens[j + 1].norm in _MONEY_AFTER)
                and tokens[j - 1].kind != "num"
            ):
                j += 1  # "Bondi 8" when the lexicon only knows "Bondi"
                while p + length < len(pos) and pos[p + length] < j:
                    length += 1
            best = min(entries, key=lambda e: _priority(e.label))
            ids = {e.entity_id for e in entries}
            exact = not any(k in fuzzy for k in pos[p : p + length])
            start, end = tokens[i].start, tokens[j - 1].end
            mention = Mention(
                text=message[start:end],
                start=start,
                end=end,
                label_hint=best.label,
                entity_id=best.entity_id if len(ids) == 1 and exact else None,
            )
            out.append(MentionSpan(mention, i, j))
            p += length
        return out

    @staticmethod
    def _accepted(
        key: tuple[str, ...], entries: list[LexiconEntry], tokens: list[Token], i: int, j: int
    ) -> list[LexiconEntry]:
        """Those of ``entries`` that tokens ``[i, j)``, which read as the lexicon ``key``,
        name: a title's rules drop the Product readings only, so "a romance movie" still
        names the genre-like entity "Romance" when the lexicon also has the film."""
        first = tokens[i]
        if len(key) == 1 and len(key[0]) == 1 and first.kind != "cjk":
            return []
        title = names_a_title(key, tokens, i, j)
        entries = [
            e
            for e in entries
            if e.label != "Product" or (title and same_number(e, key, tokens[i:j]))
        ]
        ordinary = all(k in _COMMON for k in key)
        if ordinary and {e.label for e in entries} <= {"Product", "Entity"}:
            return entries if written_as_name(tokens, i, j) else []
        return entries

    def _quoted_spans(
        self, message: str, tokens: list[Token], taken: list[bool]
    ) -> list[MentionSpan]:
        out = []
        for m in _QUOTE_RE.finditer(message):
            g = next(k for k in (1, 2, 3) if m.group(k) is not None)
            start, end = m.start(g), m.end(g)
            idx = [k for k, t in enumerate(tokens) if t.start >= start and t.end <= end]
            if not idx or any(taken[k] for k in idx):
                continue
            for k in idx:
                taken[k] = True
            mention = Mention(message[start:end], start, end, label_hint="Product")
            out.append(MentionSpan(mention, idx[0], idx[-1] + 1))
        return out

    def _capitalised_spans(
        self, message: str, tokens: list[Token], taken: list[bool]
    ) -> list[MentionSpan]:
        letters = [c for c in message if c.isalpha() and c.isascii()]
        if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters):
            return []  # SHOUTING: case carries no signal
        out = []
        n = len(tokens)
        i = 0
        while i < n:
            if not self._is_cap(tokens[i]) or taken[i]:
                i += 1
                continue
            j = i + 1
            while j < n and not taken[j]:
                if self._is_cap(tokens[j]) or (
                    tokens[j].kind == "num" and self._is_cap(tokens[j - 1])
                ):
                    j += 1
                elif (
                    (
                        tokens[j].norm in CAP_JOINERS
                        and j + 1 < n
                        and self._is_cap(tokens[j + 1])
                        and not taken[j + 1]
                    )
                    or tokens[j].text in ("-", ":", "'", "’")
                    and j + 1 < n
                    and (self._is_cap(tokens[j + 1]) or tokens[j + 1].kind == "num")
                ):
                    j += 2
                else:
                    break
            a, b = i, j
            while a < b and (tokens[a].norm in _COMMON or tokens[a].text == "I"):
                a += 1
            while b > a and (tokens[b - 1].norm in _COMMON or tokens[b - 1].kind == "sym"):
                b -= 1
            sentence_start = a == 0 or tokens[a - 1].text in '.!?:;"“'
            one = b - a == 1
            if (
                b > a
                and not (sentence_start and one and tokens[a].norm in _COMMON)
                and not (one and len(tokens[a].text) == 1)  # ":D", "M. Night": not a name
            ):
                start, end = tokens[a].start, tokens[b - 1].end
                mention = Mention(message[start:end], start, end)
                out.append(MentionSpan(mention, a, b))
            i = j
        return out

    @staticmethod
    def _is_cap(t: Token) -> bool:
        # "Nolan", "iPhone", "eBay"; not the pronoun "I"
        return t.kind == "word" and t.text != "I" and any(c.isupper() for c in t.text[:2])

    @staticmethod
    def _label_unknown(
        known: list[MentionSpan], caps: list[MentionSpan], tokens: list[Token]
    ) -> list[MentionSpan]:
        """Guess ``label_hint`` of name-like spans from their neighbours."""
        starts = {s.i: s.mention.label_hint for s in known}
        movie = any(t.norm in _MOVIE_CONTEXT for t in tokens)
        out = list(known)
        for s in caps:
            before = {t.norm for t in tokens[max(s.i - 2, 0) : s.i]}
            after = tokens[s.j].norm if s.j < len(tokens) else ""
            label: str | None = None
            if starts.get(s.j) == "Category" or after in _CATEGORY_AFTER:
                label = "Brand"  # "Mizuno running shoes"
            elif before & TITLE_CUES:
                label = "Product"  # "something like Inception"
            elif before & _PERSON_CUES or after in ("movie", "film", "flick"):
                label = "Entity"  # "movies by Christopher Nolan"
            elif movie and s.j - s.i >= 2:
                label = "Entity"
            if label != s.mention.label_hint:
                s = MentionSpan(replace(s.mention, label_hint=label), s.i, s.j)
            out.append(s)
        return out


_FUZZY_MIN_LEN = 5


def _deletes(w: str) -> set[str]:
    return {w[:k] + w[k + 1 :] for k in range(len(w))}


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _priority(label: str) -> int:
    return LABEL_PRIORITY.index(label) if label in LABEL_PRIORITY else len(LABEL_PRIORITY)


__all__ = ["LABEL_PRIORITY", "ZH_ALIASES", "MentionSpan", "SpanExtractor"]
