"""Phrase tables keyed like message tokens, and lookups over token lists."""

from __future__ import annotations

from models.intent._text import Token, normalize_word


def norm_words(ws: set[str]) -> set[str]:
    """Words keyed like message tokens."""
    return {normalize_word(w) for w in ws}


def norm_phrases(phrases: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Phrases keyed like message tokens (see :func:`normalize_word`)."""
    return {tuple(normalize_word(w) for w in p) for p in phrases}


def words(tokens: list[Token], i: int, j: int) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens[max(i, 0) : max(j, 0)])


def ends_with(tokens: list[Token], end: int, phrases: set[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that ends right before ``end`` (0: none)."""
    best = 0
    for p in phrases:
        if len(p) > best and end - len(p) >= 0 and words(tokens, end - len(p), end) == p:
            best = len(p)
    return best


def starts_with(tokens: list[Token], start: int, phrases: set[tuple[str, ...]]) -> int:
    best = 0
    for p in phrases:
        if len(p) > best and words(tokens, start, start + len(p)) == p:
            best = len(p)
    return best


def find_phrase(tokens: list[Token], phrases: set[tuple[str, ...]]) -> int | None:
    for i in range(len(tokens)):
        if starts_with(tokens, i, phrases):
            return i
    return None


__all__ = ["ends_with", "find_phrase", "norm_phrases", "norm_words", "starts_with", "words"]
