"""Negation scope ("not Nike", "no red or blue", "anything but ...") and "start over"."""

from __future__ import annotations

from models.intent._phrases import find_phrase, norm_phrases, norm_words, starts_with
from models.intent._text import Token

_NEG_TRIGGERS = norm_phrases({
    ("not",), ("no",), ("non",), ("without",), ("except",), ("excluding",), ("exclude",),
    ("anything", "but"), ("everything", "but"), ("other", "than"), ("besides",), ("nothing",),
    ("avoid",), ("dont", "want"), ("don't", "want"), ("do", "not", "want"), ("dont", "like"),
    ("don't", "like"), ("do", "not", "like"), ("didnt", "like"), ("didn't", "like"),
    ("did", "not", "like"), ("didnt", "enjoy"), ("dont", "enjoy"), ("did", "not", "enjoy"),
    ("hate",), ("dislike",), ("never",), ("nor",), ("neither",),
    ("none", "of"), ("skip",), ("minus",), ("rather", "than"), ("instead", "of"),
    ("no", "more"), ("not", "into"), ("anti",), ("don't", "show"), ("dont", "show"), ("不", "要"),
    ("别",), ("不",), ("除", "了"), ("isn't",), ("isnt",), ("aren't",), ("arent",), ("wasn't",),
    ("sick", "of"), ("tired", "of"), ("stay", "away", "from"), ("steer", "clear", "of"),
    ("remove",), ("get", "rid", "of"), ("exclude",), ("nix",), ("ban",),
})  # fmt: skip
#: Words a negation scope may cross on its way to the next mention.
_NEG_FILLER = norm_words({
    "a", "an", "any", "the", "more", "of", "from", "made", "by", "in", "with", "brand", "brands",
    "color", "colour", "that", "this", "those", "these", "some", "too", "so", "really", "very",
    "want", "like", "something", "anything", "stuff", "thing", "item", "product", "one", "ones",
    "either", "again", "please", "is", "are", "be", "it", "i", "show", "me", "fan", "big", "for",
    "interested", "into", "such", "as", "just", "all", "type", "kind", "sort", "colored",
    "coloured", "style", "styled", "material", "shade", "shades", "要", "的", "我",
    "anymore", "fabric", "including", "include", "buying", "buy",
    "recommend", "suggest", "see", "movie", "film", "flick", "shoe", "shoes", "impressed",
    "keen", "happy", "crazy", "about", "on", "sure", "convinced", "liking", "loving",
})  # fmt: skip
_DETERMINERS = {"a", "an", "the", "any", "some", "that", "this", "those", "these"}
_NEG_JOINERS = {"or", "and", ",", "nor", "/", "&", "或", "和", "或者"}
_SCOPE_STOP = {"but", "just", "instead", "rather", "only", ".", ";", "!", "?", "though", "prefer"}


def negation_triggers(tokens: list[Token]) -> list[tuple[int, int]]:
    """``(start, end)`` token ranges of negation cues."""
    out = []
    i = 0
    while i < len(tokens):
        # "anything but" is a trigger; a bare "but" stops scope instead
        k = starts_with(tokens, i, _NEG_TRIGGERS)
        if k:
            if tokens[i].norm == "less" and not (
                i + 1 < len(tokens) and tokens[i + 1].kind == "word"
            ):
                i += 1
                continue
            out.append((i, i + k))
            i += k
        else:
            i += 1
    return out


def negated_spans(
    tokens: list[Token],
    spans: list[tuple[int, int]],
    triggers: list[tuple[int, int]],
    kinds: list[str] | None = None,
) -> set[int]:
    """Indices into ``spans`` (token ranges of mentions/references) inside a negation scope.

    A scope opens at a trigger and covers the next span and every span coordinated with it
    ("no red or blue", "not Nike, Adidas or Puma"), crossing at most three filler words; any
    other word, or "but"/"instead"/sentence punctuation, closes it. A coordinated span must be
    of the same ``kinds`` entry as the one before it ("not Nike, something like the second":
    the reference is not negated).
    """
    order = sorted(range(len(spans)), key=lambda k: spans[k][0])
    starts = {spans[k][0]: k for k in order}
    out: set[int] = set()
    for _t0, t1 in triggers:
        i = t1
        gap = 0
        seen_any = False
        after_joiner = False
        last_kind = ""
        last_end = -1
        while i < len(tokens):
            if i in starts:
                k = starts[i]
                if after_joiner and kinds is not None and kinds[k] != last_kind:
                    break
                last_kind = kinds[k] if kinds is not None else ""
                out.add(k)
                last_end = spans[k][1]
                seen_any = True
                after_joiner = False
                i = spans[k][1]
                gap = 0
                continue
            norm = tokens[i].norm
            if norm in _SCOPE_STOP:
                break
            if norm in _NEG_JOINERS and seen_any:
                if not (after_joiner or i == last_end):
                    break  # "no more Puma please, New Balance instead": the list is over
                i += 1
                gap = 0
                after_joiner = True
                continue
            if after_joiner and norm not in _DETERMINERS:
                break  # "not Nike, something like the second": the list ended at the comma
            if norm in _NEG_FILLER or norm in _NEG_JOINERS or norm == "-":
                gap += norm not in _DETERMINERS
                if gap > 3:
                    break
                i += 1
                continue
            break
    return out


_CLEAR = norm_phrases({
    ("start", "over"), ("forget", "that"), ("forget", "it"), ("forget", "everything"),
    ("forget", "the"), ("forget", "about"), ("never", "mind"), ("nevermind",), ("reset",),
    ("any", "price"), ("price", "doesnt", "matter"), ("price", "doesn't", "matter"),
    ("price", "does", "not", "matter"), ("dont", "care", "about", "the", "price"),
    ("don't", "care", "about", "the", "price"), ("dont", "care", "about", "price"),
    ("don't", "care", "about", "price"), ("no", "budget"), ("whatever", "price"),
    ("clear", "the"), ("clear", "all"), ("clear", "filter"), ("remove", "the", "filter"),
    ("remove", "all", "filter"), ("drop", "the", "filter"), ("ignore", "the", "price"),
    ("ignore", "my"), ("scratch", "that"), ("start", "again"), ("from", "scratch"),
    ("重", "新", "开", "始"), ("money", "is", "no", "object"), ("budget", "doesnt", "matter"),
    ("budget", "doesn't", "matter"), ("price", "is", "no", "issue"), ("no", "price", "limit"),
    ("new", "search"), ("begin", "again"), ("restart",), ("undo", "that"),
})  # fmt: skip


def wants_clear(tokens: list[Token]) -> bool:
    """ "start over", "forget that", "any price is fine", "clear the filters", ..."""
    return find_phrase(tokens, _CLEAR) is not None


__all__ = ["negated_spans", "negation_triggers", "wants_clear"]
