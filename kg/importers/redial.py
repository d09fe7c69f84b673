"""ReDial movies with KGSF's DBpedia subgraph.

Graph it builds from a ``redial-dev``-style directory (ids in brackets)::

    Product   one per movies_with_mentions.csv row [redial:<movieId>]: title "Title (Year)"
              (whitespace collapsed), aliases: the title without the year and its
              "Title, The" -> "The Title" form
    Entity    one per DBpedia URI one hop from a movie in kgsf_dbpedia_kg/ [dbr:<local name>],
              named from the URI ("John_Hughes_(filmmaker)" -> "John Hughes", the full
              "John Hughes (filmmaker)" kept as an alias); a movie's own URI
              (redial_movieid2dbpedia.tsv) is its Product node, not an Entity
    REL_<id>  one per subkg_triples.tsv triple that touches a movie and whose relation id is
              allow-listed (the source has relation ids only, no names)

Allow-list: every relation id that links a movie to another node at least
``min_relation_count`` times, except self-loops (KGSF adds one per movie). Entity-to-entity
triples (a director's birthplace, ...) are left out: the bench needs a movie's neighbours,
and they would triple the graph. ``nbMentions`` is not imported: it counts mentions over all of
ReDial, including the dialogues a benchmark evaluates.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..schema import relation_type
from ..types import EntityRow, ProductRow, TripleRow
from ._loader import ImportContext, Skip, load_source

logger = logging.getLogger(__name__)

MOVIES_FILE = "movies_with_mentions.csv"
KG_DIR = "kgsf_dbpedia_kg"
ENTITY_FILE = "entity2id.tsv"
MOVIE_URI_FILE = "redial_movieid2dbpedia.tsv"
TRIPLES_FILE = "subkg_triples.tsv"

_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(.*), (The|A|An)$")
_SPACES = re.compile(r"\s+")
_PAREN = re.compile(r"\s*\([^()]*\)\s*$")


def movie_id(redial_id: str) -> str:
    return f"redial:{redial_id}"


def entity_id(uri: str) -> str:
    """``<http://dbpedia.org/resource/Tom_Hanks>`` -> ``dbr:Tom_Hanks``."""
    return f"dbr:{local_name(uri)}"


def local_name(uri: str) -> str:
    return uri.strip().strip("<>").rsplit("/", 1)[-1]


def entity_names(uri: str) -> tuple[str, list[str]]:
    """Display name and aliases read from a DBpedia URI.

    ``.../John_Hughes_(filmmaker)`` -> ``("John Hughes", ["John Hughes (filmmaker)"])``.
    """
    full = _SPACES.sub(" ", unquote(local_name(uri)).replace("_", " ")).strip()
    bare = _PAREN.sub("", full).strip()
    if bare and bare != full:
        return bare, [full]
    return full or uri, []


def title_aliases(title: str) -> list[str]:
    """``"Dark Knight, The (2008)"`` -> ``["Dark Knight, The", "The Dark Knight"]``."""
    bare = _YEAR.sub("", title).strip()
    out = [bare] if bare and bare != title else []
    m = _ARTICLE.match(bare)
    if m:
        out.append(f"{m.group(2)} {m.group(1)}")
    return out


def clean_title(title: str) -> str:
    return _SPACES.sub(" ", title).strip()


# -- sources ----------------------------------------------------------------------------------


def read_movies(path: Path) -> Iterator[tuple[int, ProductRow] | Skip]:
    """``movieId,movieName,nbMentions`` rows -> products."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["movieId", "movieName"]:
            yield Skip(1, f"expected header movieId,movieName,..., got {header!r}")
            return
        for row in reader:
            line = reader.line_num
            if len(row) < 2 or not row[0].strip().isdigit():
                yield Skip(line, "expected a numeric movieId and a movieName")
                continue
            title = clean_title(row[1])
            if not title:
                yield Skip(line, "empty movieName")
                continue
            yield (
                line,
                {"id": movie_id(row[0].strip()), "title": title, "aliases": title_aliases(title)},
            )


def _tsv(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        for n, text in enumerate(f, start=1):
            if n == 1 or not text.strip():
                continue  # header
            yield n, text.rstrip("\r\n").split("\t")


@dataclass
class RedialKg:
    """The movie neighbourhood of the DBpedia subgraph, ready to write."""

    entities: list[tuple[int, EntityRow]] = field(default_factory=list)
    triples: list[tuple[int, TripleRow] | Skip] = field(default_factory=list)
    relations: dict[str, int] = field(default_factory=dict)  # allowed type -> triples


def build_kg(kg_dir: Path, movie_ids: set[str], min_relation_count: int = 20) -> RedialKg:
    """Read the entity table, the movie -> URI map and the triples; keep movie neighbourhoods."""
    uris: dict[str, str] = {}
    for _, parts in _tsv(kg_dir / ENTITY_FILE):
        if len(parts) == 2:
            uris[parts[1].strip()] = parts[0].strip()
    node_of_uri: dict[str, str] = {}
    for _, parts in _tsv(kg_dir / MOVIE_URI_FILE):
        if len(parts) == 2 and movie_id(parts[0].strip()) in movie_ids:
            node_of_uri[parts[1].strip()] = movie_id(parts[0].strip())

    def node(index: str) -> tuple[str, bool] | None:
        uri = uris.get(index)
        if uri is None:
            return None
        if uri in node_of_uri:
            return node_of_uri[uri], True
        return entity_id(uri), False

    raw: list[tuple[int, str, str, str]] = []
    counts: Counter[str] = Counter()
    out = RedialKg()
    for line, parts in _tsv(kg_dir / TRIPLES_FILE):
        if len(parts) != 3:
            out.triples.append(Skip(line, f"expected 3 tab-separated fields, got {len(parts)}"))
            continue
        head, tail = node(parts[0].strip()), node(parts[2].strip())
        if head is None or tail is None:
            out.triples.append(Skip(line, "entity id not in entity2id.tsv"))
            continue
        if head[0] == tail[0] or not (head[1] or tail[1]):
            continue  # self-loop, or no movie on either side: not part of the import
        rel = f"REL_{parts[1].strip()}"
        counts[rel] += 1
        raw.append((line, head[0], rel, tail[0]))
    allowed = {relation_type(r) for r, n in counts.items() if n >= min_relation_count}
    out.relations = {r: counts[r] for r in sorted(allowed)}
    named: dict[str, EntityRow] = {}
    by_id = {entity_id(u): u for u in uris.values()}
    for line, src, rel, dst in raw:
        if rel not in allowed:
            continue
        out.triples.append((line, {"head": src, "relation": rel, "tail": dst}))
        for end in (src, dst):
            if end.startswith("dbr:") and end not in named:
                name, aliases = entity_names(by_id[end])
                named[end] = {"id": end, "name": name, "aliases": aliases, "type": "dbpedia"}
                out.entities.append((line, named[end]))
    return out


def import_redial(ctx: ImportContext[Any], path: Path, min_relation_count: int = 20) -> None:
    """Import the movie list and, when ``path/kgsf_dbpedia_kg`` exists, its KG neighbourhood."""
    store, size = ctx.store, ctx.options.batch_size
    movies_path = path / MOVIES_FILE
    movies = list(read_movies(movies_path))
    ids = {row["id"] for item in movies if not isinstance(item, Skip) for row in [item[1]]}
    load_source(
        ctx, "movies", movies_path, movies, lambda b: store.upsert_products([r for _, r in b], size)
    )
    kg_dir = path / KG_DIR
    if not kg_dir.is_dir():
        logger.info("no %s under %s: movies only", KG_DIR, path)
        return
    kg = build_kg(kg_dir, ids, min_relation_count)
    logger.info("redial KG: %d entities, relations %s", len(kg.entities), kg.relations)

    def write_entities(batch: list[tuple[int, EntityRow]]) -> int:
        return store.upsert_entities([r for _, r in batch], size)

    def write_triples(batch: list[tuple[int, TripleRow]]) -> int:
        store.add_triples([r for _, r in batch], size)
        return len(batch)

    triples_path = kg_dir / TRIPLES_FILE
    load_source(ctx, "kg-entities", triples_path, kg.entities, write_entities)
    load_source(ctx, "kg-triples", triples_path, kg.triples, write_triples)


__all__ = ["build_kg", "entity_names", "import_redial", "read_movies", "title_aliases"]
