"""Soft wishes a catalog may not model: who it is for, a gift, a use or activity, a season.

"for my dad", "a gift", "for swimming", "something warm for winter" name no product, brand or
category, yet dropping them loses the request. They come out as
:class:`~models.intent.intent.Preference` with a canonical value. Audience, occasion and use
words that a lexicon mention already covers stay mentions (the graph has them, so they can
constrain); season words are always preferences, because no item is only for one season:
they can guide the ranking, never filter it.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.intent._phrases import Phrases, norm_phrases, starts_with, words
from models.intent._text import Token
from models.intent.intent import Preference


def _table(rows: dict[str, set[tuple[str, ...]]]) -> dict[tuple[str, ...], str]:
    return {p: value for value, phrases in rows.items() for p in norm_phrases(phrases)}


_AUDIENCE = _table({
    "women": {
        ("women",), ("woman",), ("womens",), ("ladies",), ("lady",), ("female",), ("for", "her"),
        ("girlfriend",), ("wife",), ("mom",), ("mum",), ("mother",), ("sister",), ("grandma",),
        ("grandmother",), ("aunt",), ("gal",),
    },
    "men": {
        ("men",), ("man",), ("mens",), ("gentlemen",), ("gents",), ("male",), ("for", "him"),
        ("boyfriend",), ("husband",), ("dad",), ("father",), ("brother",), ("grandpa",),
        ("grandfather",), ("uncle",), ("guy",),
    },
    "kids": {
        ("kid",), ("kids",), ("child",), ("children",), ("toddler",), ("baby",), ("boy",),
        ("girl",), ("teen",), ("teenager",), ("son",), ("daughter",), ("nephew",), ("niece",),
        ("grandson",), ("granddaughter",), ("little", "one"),
    },
})  # fmt: skip
_OCCASION = _table({
    "gift": {
        ("gift",), ("present",), ("birthday",), ("christmas",), ("xmas",), ("anniversary",),
        ("stocking", "stuffer"), ("secret", "santa"), ("valentine",), ("valentines",),
        ("mother", "day"), ("father", "day"), ("housewarming",), ("gift", "idea"),
    },
})  # fmt: skip
_USE = _table({
    "swimming": {("swimming",), ("swim",), ("pool",)},
    "hiking": {("hiking",), ("hike",), ("trekking",)},
    "running": {("running",), ("jogging",), ("jog",)},
    "camping": {("camping",)},
    "cycling": {("cycling",), ("biking",), ("bike", "ride")},
    "yoga": {("yoga",), ("pilates",)},
    "gym": {("gym",), ("workout",), ("working", "out"), ("weightlifting",), ("crossfit",)},
    "travel": {("travel",), ("travelling",), ("traveling",), ("trip",), ("vacation",)},
    "commuting": {("commuting",), ("commute",)},
    "skiing": {("skiing",), ("ski",), ("snowboarding",)},
    "climbing": {("climbing",), ("bouldering",)},
    "fishing": {("fishing",)},
    "golf": {("golf",), ("golfing",)},
    "tennis": {("tennis",)},
    "surfing": {("surfing",)},
    "beach": {("beach",)},
    "school": {("school",), ("college",), ("university",)},
    "sleep": {("sleeping",), ("sleep",), ("bedtime",)},
    "walking": {("walking",), ("walk",)},
})  # fmt: skip
_SEASON = _table({
    "winter": {
        ("winter",), ("wintry",), ("snow",), ("snowy",), ("cold", "weather"), ("the", "cold"),
        ("chilly",), ("freezing",), ("warm",), ("keep", "warm"), ("keeps", "warm"),
    },
    "summer": {("summer",), ("summery",), ("hot", "weather"), ("warm", "weather"), ("the", "heat")},
    "spring": {("spring",), ("springtime",)},
    "autumn": {("autumn",), ("fall", "season"), ("for", "fall"), ("this", "fall")},
})  # fmt: skip
_TABLES = tuple(
    (kind, table, Phrases(table))
    for kind, table in (("audience", _AUDIENCE), ("occasion", _OCCASION), ("use", _USE),
                        ("season", _SEASON))
)  # fmt: skip
#: A use word right before one of these is a modifier of a thing the lexicon may not know
#: ("swimming goggles" is still about swimming; "running late" is not a use).
_NOT_USE_NEXT = {"late", "out", "low", "short"}


@dataclass(frozen=True, slots=True)
class PrefSpan:
    """A preference and the tokens ``[i, j)`` it covers (for negation scope)."""

    pref: Preference
    i: int
    j: int


def find_preferences(message: str, tokens: list[Token], claimed: set[int]) -> list[PrefSpan]:
    """Audience, occasion, use and season phrases, longest first, left to right.

    Tokens in ``claimed`` (inside a mention or a reference) are skipped, except by season
    phrases, which the caller lets replace the mention (see the module docstring). Every
    span is returned ("warm" and "winter" both), :func:`unique` keeps one per wish.
    """
    out: list[PrefSpan] = []
    i = 0
    while i < len(tokens):
        best: tuple[int, str, str] = (0, "", "")
        for kind, table, phrases in _TABLES:
            k = starts_with(tokens, i, phrases)
            if k > best[0]:
                best = (k, kind, table[words(tokens, i, i + k)])
        k, kind, value = best
        if not k:
            i += 1
            continue
        span = range(i, i + k)
        nxt = tokens[i + k].norm if i + k < len(tokens) else ""
        skip = (kind != "season" and any(t in claimed for t in span)) or (
            kind == "use" and nxt in _NOT_USE_NEXT
        )
        if not skip:
            lead = 1 if words(tokens, i, i + 1) in (("for",), ("the",), ("this",)) else 0
            if not lead and i > 0 and tokens[i - 1].norm == "my":
                lead = -1  # "my dad"
            start, end = tokens[i + lead].start, tokens[i + k - 1].end
            pref = Preference(kind, value, message[start:end], start, end)
            out.append(PrefSpan(pref, i, i + k))
        i += k
    return out


def unique(prefs: list[Preference]) -> tuple[Preference, ...]:
    """One preference per ``(kind, value)``, the first said: "something warm for winter" is
    one wish."""
    seen: dict[tuple[str, str], Preference] = {}
    for p in prefs:
        seen.setdefault((p.kind, p.value), p)
    return tuple(seen.values())


__all__ = ["PrefSpan", "find_preferences", "unique"]
