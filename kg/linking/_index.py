"""The lexicon compiled into lookup tables; immutable once built, swapped whole on refresh."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from kg.types import LexiconEntry

from . import _text

NAME, ALIAS, AKA = 0, 1, 2  # how a surface relates to its entity


class Posting(NamedTuple):
    """An entity a lookup key names (a tuple: a 100k-product index holds hundreds of
    thousands, and a restart unpickles them from the start-up cache several times faster
    than a dataclass's)."""

    entity: int  # index into LexiconIndex.entity_ids
    kind: int  # NAME | ALIAS | AKA
    year: int | None


@dataclass(slots=True)
class LexiconIndex:
    entity_ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    entity_of: dict[str, int] = field(default_factory=dict)  # entity id -> index
    exact: dict[str, list[Posting]] = field(default_factory=dict)  # normalised text
    keyed: dict[str, list[Posting]] = field(default_factory=dict)  # compact stemmed key
    keys_by_len: dict[int, list[str]] = field(default_factory=dict)  # for fuzzy matching
    keys_by_len_first: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    prefixes: list[tuple[str, int]] = field(default_factory=list)  # sorted (spaced key, entity)
    acronyms: dict[str, set[int]] = field(default_factory=dict)
    surnames: dict[str, set[int]] = field(default_factory=dict)
    embed_texts: list[str] = field(default_factory=list)  # normalised forms (embed_labels)
    embed_entities: list[list[int]] = field(default_factory=list)  # entities per embed text

    def __len__(self) -> int:
        return len(self.entity_ids)

    def prefix_entities(self, spaced: str, limit: int = 64) -> list[tuple[int, str]]:
        """Entities with a surface whose spaced key starts with ``spaced`` + a word boundary."""
        start = spaced + " "
        i = bisect.bisect_left(self.prefixes, (start, -1))
        out: list[tuple[int, str]] = []
        while i < len(self.prefixes) and len(out) < limit:
            surface, ent = self.prefixes[i]
            if not surface.startswith(start):
                break
            out.append((ent, surface))
            i += 1
        return out


def build_index(
    lexicon: Sequence[LexiconEntry],
    *,
    acronym_labels: Sequence[str],
    surname_labels: Sequence[str],
    embed_labels: Sequence[str] = (),
    unlinkable: str = "",
) -> LexiconIndex:
    """Compile lexicon entries (several per entity: the name and each alias)."""
    idx = LexiconIndex()
    ent_of = idx.entity_of
    exact: defaultdict[str, list[Posting]] = defaultdict(list)
    keyed: defaultdict[str, list[Posting]] = defaultdict(list)
    acronyms: defaultdict[str, set[int]] = defaultdict(set)
    surnames: defaultdict[str, set[int]] = defaultdict(set)
    prefixes: set[tuple[str, int]] = set()
    embed_rows: dict[str, list[int]] = {}
    # where each entity sits in the long posting lists (see _add_unique), per table
    exact_at: dict[str, dict[int, int]] = {}
    keyed_at: dict[str, dict[int, int]] = {}
    embed_at: dict[str, dict[int, int]] = {}
    acro_ok = {label.casefold() for label in acronym_labels}
    surname_ok = {label.casefold() for label in surname_labels}
    embed_ok = {label.casefold() for label in embed_labels}

    skip = re.compile(unlinkable) if unlinkable else None
    for entry in lexicon:
        if skip is not None and skip.match(entry.surface):
            continue
        ent = ent_of.get(entry.entity_id)
        if ent is None:
            ent = ent_of[entry.entity_id] = len(idx.entity_ids)
            idx.entity_ids.append(entry.entity_id)
            idx.labels.append(entry.label)
            idx.names.append(entry.name)
        is_name = entry.surface == entry.name
        label = entry.label.casefold()
        for form in _text.title_forms(entry.surface):
            kind = AKA if not form.primary else (NAME if is_name else ALIAS)
            posting = Posting(ent, kind, form.year)
            _add_unique(exact[form.text], posting, exact_at, form.text)
            for k in _text.keys(form.text):
                if k:
                    _add_unique(keyed[k], posting, keyed_at, k)
            spaced = _text.spaced_key(form.text)
            if " " in spaced:
                prefixes.add((spaced, ent))
            if not form.primary:
                continue
            if not acro_ok or label in acro_ok:
                for acr in _text.acronyms(form.text):
                    acronyms[acr].add(ent)
            toks = spaced.split()
            if label in surname_ok and len(toks) >= 2 and len(toks[-1]) >= 3:
                surnames[toks[-1]].add(ent)
            if not embed_ok or label in embed_ok:
                rows = embed_rows.setdefault(form.text, [])
                if len(rows) < _SCAN_POSTINGS:
                    if ent not in rows:
                        rows.append(ent)
                else:
                    at = embed_at.setdefault(form.text, {e: i for i, e in enumerate(rows)})
                    if ent not in at:
                        at[ent] = len(rows)
                        rows.append(ent)

    idx.exact = dict(exact)
    idx.keyed = dict(keyed)
    by_len: defaultdict[int, list[str]] = defaultdict(list)
    for k in idx.keyed:
        by_len[len(k)].append(k)
    idx.keys_by_len = dict(by_len)
    by_len_first: defaultdict[tuple[int, str], list[str]] = defaultdict(list)
    for k in idx.keyed:
        by_len_first[(len(k), k[0])].append(k)
    idx.keys_by_len_first = dict(by_len_first)
    idx.prefixes = sorted(prefixes)
    idx.acronyms = dict(acronyms)
    idx.surnames = dict(surnames)
    idx.embed_texts = list(embed_rows)
    idx.embed_entities = list(embed_rows.values())
    return idx


#: Posting lists up to this long are searched for an entity by a scan; longer ones through
#: a map entity -> place (a name thousands of products share, in a generated catalogue, made
#: the scan quadratic: over 20 minutes for a 1M-product demo store).
_SCAN_POSTINGS = 16


def _add_unique(
    postings: list[Posting], posting: Posting, places: dict[str, dict[int, int]], key: str
) -> None:
    """Add ``posting`` to ``postings`` (the list of ``key``), once per entity, keeping the
    strongest relation (name > alias > aka); ``places`` holds the maps of the long lists."""
    at = places.get(key)
    if at is None and len(postings) >= _SCAN_POSTINGS:
        at = places[key] = {p.entity: i for i, p in enumerate(postings)}
    if at is None:
        i = next((i for i, p in enumerate(postings) if p.entity == posting.entity), None)
    else:
        i = at.get(posting.entity)
    if i is None:
        if at is not None:
            at[posting.entity] = len(postings)
        postings.append(posting)
    elif posting.kind < postings[i].kind:
        postings[i] = posting
