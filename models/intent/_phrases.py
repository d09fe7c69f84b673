"""Phrase tables keyed like message tokens, and lookups over token lists."""

from __future__ import annotations

from collections.abc import Collection

from models.intent._text import Token, normalize_word


def norm_words(ws: set[str]) -> set[str]:
    """Words keyed like message tokens."""
    return {normalize_word(w) for w in ws}


def norm_phrases(phrases: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Phrases keyed like message tokens (see :func:`normalize_word`)."""
    return {tuple(normalize_word(w) for w in p) for p in phrases}


def words(tokens: list[Token], i: int, j: int) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens[max(i, 0) : max(j, 0)])


def _longest(phrases: Collection[tuple[str, ...]]) -> int:
    return max(map(len, phrases), default=0)


def ends_with(tokens: list[Token], end: int, phrases: Collection[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that ends right before ``end`` (0: none).

    Looks up each candidate length's token tuple in ``phrases`` (a set or a dict's keys),
    longest first, rather than comparing every phrase."""
    if not 0 <= end <= len(tokens):
        return 0
    for n in range(min(_longest(phrases), end), 0, -1):
        if tuple(t.norm for t in tokens[end - n : end]) in phrases:
            return n
    return 0


def starts_with(tokens: list[Token], start: int, phrases: Collection[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that starts at ``start`` (0: none)."""
    if start < 0:
        return 0
    for n in range(min(_longest(phrases), len(tokens) - start), 0, -1):
        if tuple(t.norm for t in tokens[start : start + n]) in phrases:
            return n
    return 0


def find_phrase(tokens: list[Token], phrases: Collection[tuple[str, ...]]) -> int | None:
    for i in range(len(tokens)):
        if starts_with(tokens, i, phrases):
            return i
    return None


__all__ = ["ends_with", "find_phrase", "norm_phrases", "norm_words", "starts_with", "words"]
