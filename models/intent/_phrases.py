"""Phrase tables keyed like message tokens, and lookups over token lists."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from models.intent._text import Token, normalize_word


class Phrases(frozenset[tuple[str, ...]]):
    """A phrase table (token tuples) indexed by first and by last word, each to the longest
    phrase that starts (ends) with it: the lookups below run at every token of a message,
    and a token no phrase starts with is then one dict miss, not a tuple per length."""

    firsts: dict[str, int]
    lasts: dict[str, int]

    def __new__(cls, phrases: Iterable[tuple[str, ...]] = ()) -> Phrases:
        table = super().__new__(cls, phrases)
        table.firsts, table.lasts = {}, {}
        for phrase in table:
            if phrase:
                for index, word in ((table.firsts, phrase[0]), (table.lasts, phrase[-1])):
                    index[word] = max(index.get(word, 0), len(phrase))
        return table


def norm_words(ws: set[str]) -> set[str]:
    """Words keyed like message tokens."""
    return {normalize_word(w) for w in ws}


def norm_phrases(phrases: set[tuple[str, ...]]) -> Phrases:
    """Phrases keyed like message tokens (see :func:`normalize_word`)."""
    return Phrases(tuple(normalize_word(w) for w in p) for p in phrases)


def words(tokens: list[Token], i: int, j: int) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens[max(i, 0) : max(j, 0)])


def _longest(phrases: Collection[tuple[str, ...]]) -> int:
    return max(map(len, phrases), default=0)


def ends_with(tokens: list[Token], end: int, phrases: Collection[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that ends right before ``end`` (0: none).

    Looks up each candidate length's token tuple in ``phrases`` (a set or a dict's keys),
    longest first, rather than comparing every phrase; a :class:`Phrases` table first asks
    its last-word index."""
    if not 0 < end <= len(tokens):
        return 0
    if isinstance(phrases, Phrases):
        longest = phrases.lasts.get(tokens[end - 1].norm, 0)
    else:
        longest = _longest(phrases)
    for n in range(min(longest, end), 0, -1):
        if tuple(t.norm for t in tokens[end - n : end]) in phrases:
            return n
    return 0


def starts_with(tokens: list[Token], start: int, phrases: Collection[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that starts at ``start`` (0: none); a
    :class:`Phrases` table first asks its first-word index."""
    if not 0 <= start < len(tokens):
        return 0
    if isinstance(phrases, Phrases):
        longest = phrases.firsts.get(tokens[start].norm, 0)
    else:
        longest = _longest(phrases)
    for n in range(min(longest, len(tokens) - start), 0, -1):
        if tuple(t.norm for t in tokens[start : start + n]) in phrases:
            return n
    return 0


def find_phrase(tokens: list[Token], phrases: Collection[tuple[str, ...]]) -> int | None:
    for i in range(len(tokens)):
        if starts_with(tokens, i, phrases):
            return i
    return None


__all__ = [
    "Phrases",
    "ends_with",
    "find_phrase",
    "norm_phrases",
    "norm_words",
    "starts_with",
    "words",
]
