"""The Freebase knowledge graph and the IMDb people of MovieLens-100K, built in memory.

Reads RecBole's ``ml-100k.kg`` / ``ml-100k.link`` and KB4Rec's names and types, matches
Freebase people to IMDb directors and writers, and returns every Entity and triple row the
importer (:mod:`kg.importers.movielens`) writes; see that module's docstring for the graph.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..exceptions import SchemaNameError
from ..schema import relation_type
from ..types import EntityRow, TripleRow
from ._fields import FieldError, slug
from ._loader import ImportContext, Skip, numbered_lines
from ._movielens_files import ImdbDetails, MovieLensFiles, read_link, read_tsv_map
from ._movielens_rows import fb_id, item_id

DIRECTED_BY = relation_type("directed_by")
WRITTEN_BY = relation_type("written_by")
HAS_ACTOR = relation_type("has_actor")
_FB_DIRECTED = relation_type("film.film.directed_by")
_FB_WRITTEN = relation_type("film.film.written_by")
#: Freebase relations that say what an IMDb director / writer / cast relation says.
_SAME_AS_IMDB = {
    _FB_DIRECTED: DIRECTED_BY,
    relation_type("film.director.film"): DIRECTED_BY,
    _FB_WRITTEN: WRITTEN_BY,
    relation_type("film.writer.film"): WRITTEN_BY,
    relation_type("film.film.actor"): HAS_ACTOR,
    relation_type("film.actor.film"): HAS_ACTOR,
}


@dataclass(slots=True)
class KnowledgeGraph:
    """Everything the KG and IMDb steps write, built in memory (the files are small)."""

    mid_to_item: dict[str, str] = field(default_factory=dict)  # mid -> Product id
    triples: list[tuple[int, TripleRow] | Skip] = field(default_factory=list)
    entities: list[tuple[int, list[EntityRow]]] = field(default_factory=list)
    people: list[tuple[int, tuple[list[EntityRow], list[TripleRow]]] | Skip] = field(
        default_factory=list
    )


def _latin(text: str) -> bool:
    """True when every letter of ``text`` is Latin script (Basic Latin to Latin Extended-B)."""
    return all(ord(c) < 0x250 for c in text if c.isalpha())


def _single_matches(
    fb_rel: str, imdb_names: dict[str, tuple[str, ...]], edges: dict[tuple[str, str], list[str]]
) -> dict[str, str]:
    """mid -> IMDb name where a film has exactly one Freebase and exactly one IMDb person."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for item, names in imdb_names.items():
        mids = edges.get((item, fb_rel), [])
        if len(mids) == 1 and len(names) == 1:
            votes[mids[0]][names[0]] += 1
    return {mid: c.most_common(1)[0][0] for mid, c in votes.items() if len(c) == 1}


def build_kg(
    files: MovieLensFiles, imdb: dict[str, ImdbDetails], ctx: ImportContext[object]
) -> KnowledgeGraph:
    kg = KnowledgeGraph()
    if files.link is not None:
        for item in read_link(files.link):
            if isinstance(item, Skip):
                ctx.report.bad("kg-link", files.link, item.line, item.reason)
            else:
                ml_id, mid = item[1]
                kg.mid_to_item.setdefault(mid, item_id(ml_id))
    names = read_tsv_map(files.names) if files.names else {}
    types = read_tsv_map(files.types) if files.types else {}

    def node(mid: str) -> str:
        return kg.mid_to_item.get(mid) or fb_id(mid)

    # item -> (fb relation, [tail mids]) for matching people
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    linked: set[tuple[str, str, str]] = set()  # (product, entity, IMDb relation) in Freebase
    raw: list[tuple[int, str, str, str]] = []
    if files.kg is not None:
        for rec in numbered_lines(files.kg):
            if isinstance(rec, Skip):
                kg.triples.append(rec)
                continue
            line, text = rec
            parts = [p.strip() for p in text.split("\t")]
            if line == 1 and parts[0].startswith("head_id"):
                continue
            if len(parts) != 3 or not all(parts):
                kg.triples.append(Skip(line, "expected head<TAB>relation<TAB>tail"))
                continue
            try:
                rel = relation_type(parts[1])
            except SchemaNameError as e:
                kg.triples.append(Skip(line, f"relation {parts[1]!r} not allowed: {e}"))
                continue
            h, t = parts[0], parts[2]
            raw.append((line, h, rel, t))
            kg.triples.append((line, {"head": node(h), "relation": rel, "tail": node(t)}))
            if h in kg.mid_to_item and t not in kg.mid_to_item:
                edges[(kg.mid_to_item[h], rel)].append(t)
                if rel in _SAME_AS_IMDB:
                    linked.add((kg.mid_to_item[h], fb_id(t), _SAME_AS_IMDB[rel]))
            elif t in kg.mid_to_item and h not in kg.mid_to_item and rel in _SAME_AS_IMDB:
                linked.add((kg.mid_to_item[t], fb_id(h), _SAME_AS_IMDB[rel]))

    # IMDb names for Freebase people: single director / writer on both sides of a film
    by_item = {item_id(d.item_id): d for d in imdb.values()}
    imdb_name: dict[str, str] = {}
    imdb_name.update(
        _single_matches(_FB_WRITTEN, {i: d.writers for i, d in by_item.items()}, edges)
    )
    imdb_name.update(
        _single_matches(_FB_DIRECTED, {i: d.directors for i, d in by_item.items()}, edges)
    )
    # KB4Rec names are often not English (约翰·拉塞特 is John Lasseter), so a vote may
    # rename a node. But its item links are noisy and a single-director match can pair a film
    # with the wrong person (several nodes became "Steven Spielberg"). So: never replace a
    # Latin-script Freebase name that says otherwise, and drop a name several nodes claim.
    claims: dict[str, list[str]] = defaultdict(list)
    for mid, name in imdb_name.items():
        fb_name = names.get(mid)
        if fb_name is None or fb_name.casefold() == name.casefold() or not _latin(fb_name):
            claims[name].append(mid)
    imdb_name = {mids[0]: name for name, mids in claims.items() if len(mids) == 1}
    person_to_fb: dict[str, str] = {}
    for mid, name in imdb_name.items():
        person_to_fb.setdefault(name, fb_id(mid))
    # Freebase names that are unique and equal an IMDb name are the same person
    name_count = Counter(names.values())
    imdb_people = {n for d in imdb.values() for n in (*d.directors, *d.writers, *d.cast)}
    for mid, name in names.items():
        if name_count[name] == 1 and name in imdb_people:
            person_to_fb.setdefault(name, fb_id(mid))

    seen: set[str] = set()
    for line, h, _, t in raw:
        rows: list[EntityRow] = []
        for mid in (h, t):
            if mid in kg.mid_to_item or mid in seen:
                continue
            seen.add(mid)
            fb_name = names.get(mid)
            row: EntityRow = {"id": fb_id(mid), "name": imdb_name.get(mid) or fb_name or mid}
            if fb_name and row["name"] != fb_name:
                row["aliases"] = [fb_name]
            if mid in types:
                row["type"] = types[mid]
            rows.append(row)
        if rows:
            kg.entities.append((line, rows))

    _add_people(kg, imdb, person_to_fb, linked)
    return kg


def _add_people(
    kg: KnowledgeGraph,
    imdb: dict[str, ImdbDetails],
    person_to_fb: dict[str, str],
    linked: set[tuple[str, str, str]],
) -> None:
    """IMDb directors, writers and cast as Entity nodes linked from their movie."""
    created: set[str] = set()
    for d in sorted(imdb.values(), key=lambda d: d.line):
        product = item_id(d.item_id)
        entities: list[EntityRow] = []
        triples: list[TripleRow] = []
        for rel, names in (
            (DIRECTED_BY, d.directors),
            (WRITTEN_BY, d.writers),
            (HAS_ACTOR, d.cast),
        ):
            for name in names:
                try:
                    pid = person_to_fb.get(name) or f"person:{slug(name)}"
                except FieldError:
                    continue  # a name without letters or digits
                if pid.startswith("person:") and pid not in created:
                    created.add(pid)
                    entities.append({"id": pid, "name": name, "type": "person"})
                if (product, pid, rel) not in linked:  # Freebase says it already
                    triples.append({"head": product, "relation": rel, "tail": pid})
        kg.people.append((d.line, (entities, triples)))
