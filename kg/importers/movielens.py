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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .. import queries
from ..schema import ATTRIBUTE, CATEGORY, IN_CATEGORY, PRODUCT
from ..types import CategoryRow, EntityRow, InteractionRow, TripleRow
from ._cypher import write
from ._loader import ImportContext, Skip, load_source
from ._movielens_files import MovieLensFiles, read_imdb, read_posters
from ._movielens_kg import build_kg
from ._movielens_rows import (
    ROOT_CATEGORY,
    Movie,
    read_genres,
    read_items,
    read_ratings,
    read_users,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
