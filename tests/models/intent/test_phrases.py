"""Phrase lookups over token lists: the longest phrase starting at / ending before a position,
checked against the plain definition (compare every phrase) on random tokens and tables."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.intent._phrases import Phrases, ends_with, find_phrase, starts_with
from models.intent._text import Token

WORDS = st.sampled_from(["a", "b", "c", "d"])
PHRASES = st.sets(st.lists(WORDS, min_size=1, max_size=4).map(tuple), max_size=6)
TOKENS = st.lists(WORDS, max_size=6).map(lambda ws: [Token(w, 0, 0, "word", w) for w in ws])


def _span(tokens: list[Token], i: int, j: int) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens[max(i, 0) : max(j, 0)])


def _longest_from(tokens: list[Token], start: int, phrases: set[tuple[str, ...]]) -> int:
    fits = [len(p) for p in phrases if _span(tokens, start, start + len(p)) == p]
    return max(fits, default=0)


def _longest_before(tokens: list[Token], end: int, phrases: set[tuple[str, ...]]) -> int:
    fits = [len(p) for p in phrases if end >= len(p) and _span(tokens, end - len(p), end) == p]
    return max(fits, default=0)


@settings(max_examples=300, deadline=None)
@given(TOKENS, PHRASES, st.integers(-2, 8))
def test_lookups_match_the_definition(
    tokens: list[Token], phrases: set[tuple[str, ...]], at: int
) -> None:
    assert starts_with(tokens, at, phrases) == _longest_from(tokens, at, phrases)
    assert ends_with(tokens, at, phrases) == _longest_before(tokens, at, phrases)
    # a dict's keys work as the phrase table too
    assert starts_with(tokens, at, dict.fromkeys(phrases).keys()) == _longest_from(
        tokens, at, phrases
    )
    # an indexed table (first / last word) answers the same
    assert starts_with(tokens, at, Phrases(phrases)) == _longest_from(tokens, at, phrases)
    assert ends_with(tokens, at, Phrases(phrases)) == _longest_before(tokens, at, phrases)


def test_find_phrase_gives_the_first_position() -> None:
    tokens = [Token(w, 0, 0, "word", w) for w in ["x", "not", "a", "b", "y", "not", "a", "b"]]
    assert find_phrase(tokens, {("a", "b")}) == 2
    assert find_phrase(tokens, {("b", "a")}) is None
