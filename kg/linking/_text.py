"""Text normalisation shared by the lexicon side and the mention side of linking.

Both sides go through the same functions, so a rule only has to map a singular and its plural
(or ``t-shirt`` and ``T Shirt``) to the *same* key, not to a dictionary form:

* :func:`normalize` — Unicode NFKD without accents, case-folded, ``&`` → ``and``, apostrophes
  dropped (``Levi's`` → ``levis``, ``O'Toole`` → ``otoole``), other punctuation → space.
* :func:`stem` — a light plural folding per token (``shoes``/``shoe`` → ``shoe``,
  ``hoodies``/``hoodie`` → ``hoodi``, ``watches`` → ``watch``); not an English stemmer.
* :func:`key` — normalised, leading article dropped, tokens stemmed, joined *without* spaces,
  so ``T Shirts``, ``t-shirt`` and ``tshirt`` share the key ``tshirt``.
* :func:`title_forms` — the ways a catalogue title is written: ``"Graduate, The (1967)"`` is
  also ``"The Graduate"``; ``"Seven (Se7en) (1995)"`` is also ``"Se7en"``; the year is kept
  apart to break ties between remakes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
_BARE_YEAR_SUFFIX = re.compile(r"^(.*\S)\s+\(?((?:19|20)\d{2})\)?$")
_AKA_SUFFIX = re.compile(r"^(.*\S)\s*\(([^()]+)\)\s*$")
# "Graduate, The" / "Fille seule, La" — the catalogue convention of a trailing article.
_TRAILING_ARTICLE = re.compile(
    r"^(.*?),\s*(the|a|an|la|le|les|l'|il|el|los|las|das|der|die|den|det)\s*(:.*)?$", re.I
)
_OR_SUFFIX = re.compile(r"\s+or$", re.I)
_DIGITS = re.compile(r"\d+")
_LEADING_ARTICLES = frozenset({"the", "a", "an"})
STOPWORDS = frozenset({"the", "a", "an", "of", "and", "in", "on", "for", "to", "with", "at", "by"})


def normalize(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text with single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def stem(token: str) -> str:
    """Fold a plural and its singular to one form (applied to both sides, so it need not be a
    real word)."""
    if len(token) < 3 or not token.isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "i"
    if token.endswith("ie"):
        return token[:-1]
    if token.endswith("y") and token[-2] not in "aeiou":
        return token[:-1] + "i"
    if token.endswith(("sses", "ches", "shes", "xes", "zes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(normalized: str) -> list[str]:
    """Tokens of a normalised string without a leading article (``the graduate`` → ``graduate``)."""
    toks = normalized.split()
    if len(toks) > 1 and toks[0] in _LEADING_ARTICLES:
        toks = toks[1:]
    return toks


def key(normalized: str) -> str:
    """The compact matching key of a normalised string: stemmed tokens joined without spaces."""
    return "".join(stem(t) for t in tokens(normalized))


def keys(normalized: str) -> list[str]:
    """:func:`key` and, when folding changed it, the unfolded compact form (``nkie`` folds to
    ``nki``, so a typo of ``nike`` is matched on the unfolded form)."""
    folded = key(normalized)
    raw = "".join(tokens(normalized))
    return [folded] if raw == folded else [folded, raw]


def spaced_key(normalized: str) -> str:
    """Like :func:`key` but with spaces kept, for token-prefix and surname matching."""
    return " ".join(stem(t) for t in tokens(normalized))


def acronyms(normalized: str) -> set[str]:
    """Initials of a multi-word name: all words, and content words only
    (``lord of the rings`` → ``lotr``, ``lr``; ``new balance`` → ``nb``)."""
    toks = normalized.split()
    if len(toks) < 2:
        return set()
    out = {"".join(t[0] for t in toks)}
    content = [t for t in toks if t not in STOPWORDS]
    if len(content) >= 2:
        out.add("".join(t[0] for t in content))
    return {a for a in out if len(a) >= 2}


@dataclass(frozen=True, slots=True)
class TitleForm:
    text: str  # normalised
    year: int | None
    primary: bool  # False for an "also known as" form taken from a parenthesis


def title_forms(surface: str) -> list[TitleForm]:
    """The normalised forms a name or catalogue title is written in (first one primary)."""
    s = " ".join(surface.split())
    year: int | None = None
    m = _YEAR_SUFFIX.search(s)
    if m and m.start() > 0:
        year = int(m.group(1))
        s = s[: m.start()]
    akas: list[str] = []
    m = _AKA_SUFFIX.match(s)
    if m:
        s, aka = m.group(1), m.group(2)
        akas.append(_reorder_article(aka))
    main = _reorder_article(s)
    forms = [TitleForm(normalize(main), year, True)]
    if main != s:
        forms.append(TitleForm(normalize(s), year, True))
    # "Terminator 2: Judgment Day" is also "Terminator 2"; "Star Trek: The Wrath of Khan" is
    # also "The Wrath of Khan"; "Dr. Strangelove or: How I Learned ..." is "Dr. Strangelove".
    head, colon, tail = main.partition(":")
    if colon and head.strip() and tail.strip():
        head = _OR_SUFFIX.sub("", head.strip())
        akas += [head, tail.strip()]
    forms.extend(TitleForm(normalize(a), year, False) for a in akas)
    seen: set[str] = set()
    out = []
    for f in forms:
        if f.text and f.text not in seen:
            seen.add(f.text)
            out.append(f)
    return out


def strip_generic(normalized: str, generic: frozenset[str]) -> str:
    """Drop trailing generic nouns: ``horror movies`` → ``horror`` (never to nothing)."""
    toks = normalized.split()
    while len(toks) > 1 and toks[-1] in generic:
        toks.pop()
    return " ".join(toks)


def digits(text: str) -> list[str]:
    """The numbers in a string; a typo never turns one number into another."""
    return _DIGITS.findall(text)


def split_mention_year(normalized: str) -> tuple[str, int | None]:
    """``toy story 1995`` → (``toy story``, 1995); a bare year alone is left alone (``1984``)."""
    m = _BARE_YEAR_SUFFIX.match(normalized)
    if not m:
        return normalized, None
    return m.group(1), int(m.group(2))


def _reorder_article(title: str) -> str:
    m = _TRAILING_ARTICLE.match(title.strip())
    if not m:
        return title
    rest = m.group(3) or ""
    return f"{m.group(2)} {m.group(1)}{rest}"
