"""MovieLens-100K with its Freebase knowledge graph, IMDb text and posters.

Graph it builds (ids in brackets)::

    Category  Movies [cat:movies] <-SUBCATEGORY_OF- one per u.genre genre [cat:<genre>]
    Product   one per u.item movie [movie:<item_id>]: title, aliases (title without the year,
              "Postino, Il" -> "Il Postino"), description = IMDb plot, image_ref = absolute
              path of the poster (not copied), IN_CATEGORY its first genre, HAS_ATTRIBUTE
              year=<release year> [attr:year=<yyyy>], HAS_GENRE every genre it has
    User      one per u.user user [user:<user_id>]
    INTERACTED one per u.data rating: type=rating, value 1..5, ts, event_id ml100k:<u>:<i>
    Entity    one per Freebase mid of RecBole's ml-100k.kg [fb:<mid>], name from KB4Rec's
              e_names_fb.tsv, type from e_types_fb.tsv; items linked by ml-100k.link are the
              Product nodes themselves; every .kg triple becomes a typed relation
              (film.film.actor -> FILM_FILM_ACTOR)
    Entity    IMDb directors, writers, cast [person:<slug>] -DIRECTED_BY / WRITTEN_BY /
              HAS_ACTOR- from the movie; a person who is the single Freebase director (or
              writer) of a film whose IMDb page names a single one is that Freebase node
              (which then takes the IMDb name, keeping the Freebase one as an alias)

Freebase names are multilingual and cover a fifth of the KG's entities; a mid without a name
is named after itself.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import queries
from ..exceptions import SchemaNameError
from ..schema import ATTRIBUTE, CATEGORY, IN_CATEGORY, PRODUCT, relation_type
from ..types import (
    AttributeRow,
    CategoryRow,
    EntityRow,
    InteractionRow,
    ProductRow,
    TripleRow,
    UserRow,
)
from ._cypher import write
from ._fields import FieldError, slug
from ._loader import ImportContext, Skip, load_source, numbered_lines
from ._movielens_files import (
    ImdbDetails,
    MovieLensFiles,
    read_imdb,
    read_link,
    read_posters,
    read_tsv_map,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

ROOT_CATEGORY: CategoryRow = {"id": "cat:movies", "name": "Movies"}
HAS_GENRE = relation_type("has_genre")
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
_YEAR = re.compile(r"\((\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(.*), (The|A|An|Il|La|Le|Les|L'|Das|Der|Die|El|Los|Las)$")


def item_id(ml_id: str) -> str:
    return f"movie:{ml_id}"


def user_id(ml_id: str) -> str:
    return f"user:{ml_id}"


def fb_id(mid: str) -> str:
    return f"fb:{mid}"


def genre_id(name: str) -> str:
    return f"cat:{slug(name)}"


def title_aliases(title: str) -> list[str]:
    """``"Postino, Il (1994)"`` -> ``["Postino, Il", "Il Postino"]``."""
    bare = _YEAR.sub("", title).strip()
    out = [bare] if bare and bare != title else []
    m = _ARTICLE.match(bare)
    if m:
        sep = "" if m.group(2).endswith("'") else " "
        out.append(f"{m.group(2)}{sep}{m.group(1)}")
    return out


# -- u.genre / u.item / u.user / u.data ------------------------------------------------------


def read_genres(path: Path) -> Iterator[tuple[int, CategoryRow] | Skip]:
    for item in numbered_lines(path, encoding="latin-1"):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        name, sep, idx = text.partition("|")
        if not sep or not name.strip() or not idx.strip().isdigit():
            yield Skip(line, "expected genre|index")
            continue
        display = "Unknown genre" if name.strip() == "unknown" else name.strip()
        yield (
            line,
            {"id": genre_id(name.strip()), "name": display, "parent_id": ROOT_CATEGORY["id"]},
        )


@dataclass(slots=True)
class Movie:
    product: ProductRow
    genres: list[str]  # category ids, u.genre order (the root when it has none)
    year: AttributeRow | None


def read_items(
    path: Path,
    genres: list[str],
    imdb: dict[str, ImdbDetails],
    posters: dict[str, str],
) -> Iterator[tuple[int, Movie] | Skip]:
    n_fields = 5 + len(genres)
    for item in numbered_lines(path, encoding="latin-1"):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        f = text.split("|")
        if len(f) != n_fields:
            yield Skip(line, f"expected {n_fields} |-separated fields, got {len(f)}")
            continue
        ml_id, title = f[0].strip(), f[1].strip()
        flags = f[5:]
        if not ml_id.isdigit() or not title or any(x not in ("0", "1") for x in flags):
            yield Skip(line, "bad item id, empty title or genre flags other than 0/1")
            continue
        product: ProductRow = {"id": item_id(ml_id), "title": title}
        aliases = title_aliases(title)
        if aliases:
            product["aliases"] = aliases
        ids = [g for g, x in zip(genres, flags, strict=True) if x == "1"]
        ids = ids or [ROOT_CATEGORY["id"]]
        y = _YEAR.search(title)
        year = y.group(1) if y else f[2].strip()[-4:]
        attr: AttributeRow | None = None
        if year.isdigit():
            attr = {"id": f"attr:year={year}", "name": "year", "value": year}
            product["attribute_ids"] = [attr["id"]]
        details = imdb.get(ml_id)
        if details is not None and details.description:
            product["description"] = details.description
        if ml_id in posters:
            product["image_ref"] = posters[ml_id]
        yield line, Movie(product, ids, attr)


def read_users(path: Path) -> Iterator[tuple[int, UserRow] | Skip]:
    for item in numbered_lines(path, encoding="latin-1"):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        f = text.split("|")
        if len(f) != 5 or not f[0].strip().isdigit():
            yield Skip(line, "expected user_id|age|gender|occupation|zip")
            continue
        yield line, {"id": user_id(f[0].strip())}


def read_ratings(path: Path) -> Iterator[tuple[int, InteractionRow] | Skip]:
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        f = text.split("\t")
        if len(f) != 4 or not all(x.strip().isdigit() for x in f):
            yield Skip(line, "expected user_id<TAB>item_id<TAB>rating<TAB>timestamp (integers)")
            continue
        u, i, r, ts = (x.strip() for x in f)
        if not 1 <= int(r) <= 5:
            yield Skip(line, f"rating {r} is not in 1..5")
            continue
        yield (
            line,
            {
                "user_id": user_id(u),
                "item_id": item_id(i),
                "type": "rating",
                "value": float(r),
                "ts": float(ts),
                "event_id": f"ml100k:{u}:{i}",
            },
        )


# -- the Freebase KG and the IMDb people ------------------------------------------------------


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


# -- the import ------------------------------------------------------------------------------


def _sent(write: Callable[[list[T]], object]) -> Callable[[list[tuple[int, T]]], int]:
    """A batch writer that calls ``write`` with the rows and counts the rows sent."""

    def run(batch: list[tuple[int, T]]) -> int:
        rows = [r for _, r in batch]
        if rows:
            write(rows)
        return len(rows)

    return run


def import_movielens(ctx: ImportContext[Any], path: Path) -> None:
    """Import everything :class:`MovieLensFiles` finds under ``path``, step by step."""
    files = MovieLensFiles.find(path)
    store, size = ctx.store, ctx.options.batch_size

    imdb_records = list(read_imdb(files.imdb)) if files.imdb else []
    imdb = {d.item_id: d for r in imdb_records if not isinstance(r, Skip) for d in [r[1]]}
    posters = read_posters(files.posters) if files.posters else {}
    genre_rows = list(read_genres(files.genre))
    genres = [r[1]["id"] for r in genre_rows if not isinstance(r, Skip)]

    def write_genres(rows: list[CategoryRow]) -> None:
        store.upsert_categories([ROOT_CATEGORY, *rows], size)

    def write_items(batch: list[tuple[int, Movie]]) -> int:
        years = {m.year["id"]: m.year for _, m in batch if m.year is not None}
        if new_years := ctx.unwritten(ATTRIBUTE, years.values()):
            store.upsert_attributes(new_years, size)
        n = store.upsert_products([m.product for _, m in batch], size)
        # every genre is a category of the movie (upsert_products links only one)
        links = [{"id": m.product["id"], "targets": m.genres} for _, m in batch]
        write(store, *queries.unlink_stale(PRODUCT, IN_CATEGORY, CATEGORY, links))
        write(store, *queries.link(PRODUCT, IN_CATEGORY, CATEGORY, links))
        ids = [m.product["id"] for _, m in batch]
        write(store, queries.REFRESH_FILTER_PROPS, {"ids": ids})  # category_ids for candidates
        return n

    load_source(ctx, "genres", files.genre, genre_rows, _sent(write_genres))
    items = read_items(files.item, genres, imdb, posters)
    load_source(ctx, "items", files.item, items, write_items, total=1682)
    users = read_users(files.user)
    load_source(ctx, "users", files.user, users, _sent(lambda b: store.upsert_users(b, size)))
    ratings = read_ratings(files.data)

    def add_ratings(rows: list[InteractionRow]) -> None:
        store.add_interactions(rows, size)

    load_source(ctx, "ratings", files.data, ratings, _sent(add_ratings), total=100_000)

    if files.kg is None and files.imdb is None:
        return
    kg = build_kg(files, imdb, ctx)
    if files.kg is not None:

        def write_entities(batch: list[tuple[int, list[EntityRow]]]) -> int:
            rows = [row for _, rows in batch for row in rows]
            store.upsert_entities(rows, size)
            return len(rows)

        n = len(kg.entities)
        load_source(ctx, "kg-entities", files.kg, kg.entities, write_entities, total=n)

        def add_triples(rows: list[TripleRow]) -> None:
            store.add_triples(rows, size)

        n = len(kg.triples)
        load_source(ctx, "kg-triples", files.kg, kg.triples, _sent(add_triples), total=n)
    if files.imdb is not None:
        bad = [r for r in imdb_records if isinstance(r, Skip)]

        def write_people(batch: list[tuple[int, tuple[list[EntityRow], list[TripleRow]]]]) -> int:
            entities = [e for _, (es, _) in batch for e in es]
            triples = [t for _, (_, ts) in batch for t in ts]
            if entities:
                store.upsert_entities(entities, size)
            if triples:
                store.add_triples(triples, size)
            return len(triples)

        people = [*bad, *kg.people]
        load_source(ctx, "imdb-people", files.imdb, people, write_people, total=len(people))
