"""When a lexicon match names a title: the rules the span extractor
(:class:`~models.intent.span_extractor.SpanExtractor`) applies to a span before it reads as a
Product (a film, a product name), and the surface forms titles are indexed under."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from kg.types import LexiconEntry
from models.intent._text import Token, normalize_word, tokenize, word_form

#: A lower-case single word right after one of these may still be a title ("i liked frozen").
TITLE_CUES = {"like", "liked", "watched", "saw", "seen", "loved", "enjoyed", "than", "as", "watch"}
#: "action movies", "scary films": a lower-case phrase before one of these describes a kind of
#: movie, it does not name one ("Action (1980)", "Scary Movie")
KIND_NOUNS = {
    normalize_word(w)
    for w in ("movie", "movies", "film", "films", "flick", "flicks", "ones", "genre")
}
#: Words a capitalised name may keep in lower case ("Lord of the Rings").
CAP_JOINERS = {"of", "the", "and", "&", "de", "la", "le", "von", "van", "in", "on", "a"}


def surface_variants(surface: str) -> list[str]:
    """The forms a catalogue title is found under: as written, without its year, with a
    trailing article moved to the front."""
    s = surface.strip()
    out = [s]
    stripped = re.sub(r"\s*\(\d{4}\)\s*$", "", s)  # MovieLens "Heat (1995)"
    if stripped != s:
        out.append(stripped)
    m = re.match(r"^(.*),\s*(The|A|An|Les|La|Le|Il|Das|Der|Die|El)$", stripped)
    if m:  # "Usual Suspects, The" -> "The Usual Suspects"
        out.append(f"{m.group(2)} {m.group(1)}")
        out.append(m.group(1))
    return out


def title_key(tokens: Sequence[Token]) -> tuple[str, ...]:
    """The lexicon key of ``tokens``: their normalised words, symbols left out."""
    return tuple(t.norm for t in tokens if t.kind != "sym")


def same_number(entry: LexiconEntry, key: tuple[str, ...], span: list[Token]) -> bool:
    """Whether a title is written with its own words, plurals included: the lexicon folds
    plurals ("t-shirts" finds "T-shirt"), but "the kids" is not *The Kid*, "Wars" not *War*,
    "love stories" not *Love Story*. Words the typo rule corrected are not compared."""
    words = [t for t in span if t.kind != "sym"]
    for variant_key, forms in _title_words(entry.surface):
        if variant_key == key:
            return all(
                word_form(w.text) == form
                for w, form, k in zip(words, forms, key, strict=False)
                if w.norm == k
            )
    return True


@functools.lru_cache(maxsize=65536)
def _title_words(surface: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """``(key, word forms)`` of each of a title's surface variants (cached: a generated
    catalogue's product names share a few surfaces across thousands of entries)."""
    out = []
    for variant in surface_variants(surface):
        title = [t for t in tokenize(variant) if t.kind != "sym"]
        out.append((title_key(title), tuple(word_form(t.text) for t in title)))
    return tuple(out)


def names_a_title(key: tuple[str, ...], tokens: list[Token], i: int, j: int) -> bool:
    """Whether tokens ``[i, j)`` can be a title (a Product's name) as written."""
    first = tokens[i]
    lower = first.text.islower()
    if len(key) == 1 and lower and not (i > 0 and tokens[i - 1].norm in TITLE_CUES):
        # a lower-case single word is a word, not a title: "can you help" is not "Help!",
        # "i saw it" not "Saw"; "i liked frozen" still is (quoted titles are found apart)
        return False
    # "action movies", "romance films": a kind of movie; "a scary movie", "superhero movies"
    # describe one, where "Scary Movie" names it
    kind_after = j < len(tokens) and tokens[j].norm in KIND_NOUNS
    return not (lower and (kind_after or (len(key) > 1 and key[-1] in KIND_NOUNS)))


def written_as_name(tokens: list[Token], i: int, j: int) -> bool:
    """Titles made of ordinary words ("Seven", "It", "Anything Else") count only when written
    like a name: every word capitalised (a joiner inside may stay lower-case), none SHOUTED
    ("I LOVE it", "seen IT"), and a one-word one not as the first word of a sentence."""
    words = [t for t in tokens[i:j] if t.kind == "word"]
    for k, t in enumerate(words):
        if len(t.text) > 1 and t.text.isupper():
            return False
        if not t.text[:1].isupper() and (k == 0 or t.norm not in CAP_JOINERS):
            return False
    return not (len(words) == 1 and (i == 0 or tokens[i - 1].text in ".!?"))
