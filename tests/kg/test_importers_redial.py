"""The ReDial importer into a real store, and ``stats().degree`` on the graph it builds.

``stats().degree`` was once reported as the same value for every quantile on the imported
ReDial graph. The degree query counts every relationship of a product, of any type and in
either direction, so movies with different DBpedia neighbourhoods must get different degrees;
a movies-only import (no ``kgsf_dbpedia_kg/``) is the case where they are all 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kg
from kg.importers import Checkpoint, ImportContext, ImportOptions, ImportReport
from kg.importers.redial import import_redial

# ``store`` (a fresh graph per test, on each backend) comes from tests/kg/conftest.py.

URI = "<http://dbpedia.org/resource/{}>"
MOVIES = {1: "Heat (1995)", 2: "Heat 2 (2001)", 3: "Ronin (1998)", 4: "Nowhere, The (1990)"}
FILMS = {1: "Heat_(1995_film)", 2: "Heat_2", 3: "Ronin_(film)", 4: "The_Nowhere"}
ENTITIES = ["Michael_Mann", "Crime_film", "Al_Pacino", "Chicago"]
#: (head, relation id, tail) by name; movies by ReDial id. Directions as in KGSF: most point
#: from the movie, "starring" (70) points at it.
TRIPLES = [
    (1, 121, "Michael_Mann"),  # director
    (1, 68, "Crime_film"),  # genre
    ("Al_Pacino", 70, 1),  # starring, incoming
    (1, 24, 2),  # sequel: movie to movie, counts for both
    (2, 121, "Michael_Mann"),
    (3, 68, "Crime_film"),
    (4, 86, 4),  # self-loop: KGSF adds one per movie; not imported
    ("Michael_Mann", 104, "Chicago"),  # entity to entity: not imported
]
#: Relationships each movie ends up with, from the triples above.
DEGREES = {1: 4, 2: 2, 3: 1, 4: 0}


def redial_folder(root: Path, *, with_kg: bool = True) -> Path:
    folder = root / "redial-dev"
    folder.mkdir()
    (folder / "movies_with_mentions.csv").write_text(
        "movieId,movieName,nbMentions\n" + "".join(f'{i},"{t}",3\n' for i, t in MOVIES.items()),
        encoding="utf-8",
    )
    if not with_kg:
        return folder
    kg_dir = folder / "kgsf_dbpedia_kg"
    kg_dir.mkdir()
    names = list(FILMS.values()) + ENTITIES
    index = {n: i for i, n in enumerate(names)}
    (kg_dir / "entity2id.tsv").write_text(
        "dbpedia_uri\tentity_id\n" + "".join(f"{URI.format(n)}\t{i}\n" for n, i in index.items()),
        encoding="utf-8",
    )
    (kg_dir / "redial_movieid2dbpedia.tsv").write_text(
        "redial_movie_id\tdbpedia_uri\n"
        + "".join(f"{m}\t{URI.format(n)}\n" for m, n in FILMS.items()),
        encoding="utf-8",
    )

    def node(x: int | str) -> int:
        return index[FILMS[x]] if isinstance(x, int) else index[x]

    (kg_dir / "subkg_triples.tsv").write_text(
        "head_entity_id\trelation_id\ttail_entity_id\n"
        + "".join(f"{node(h)}\t{r}\t{node(t)}\n" for h, r, t in TRIPLES),
        encoding="utf-8",
    )
    return folder


def import_folder(store: kg.GraphStore, folder: Path) -> None:
    ctx: ImportContext[Any] = ImportContext(
        store, ImportOptions(), ImportReport("redial"), Checkpoint(None)
    )
    import_redial(ctx, folder, min_relation_count=1)
    assert not ctx.report.finish().bad_rows


def test_product_degree_differs_between_movies_with_different_kg_neighbourhoods(
    store: kg.GraphStore, tmp_path: Path
) -> None:
    import_folder(store, redial_folder(tmp_path))
    stats = store.stats()
    assert stats.nodes == {"Entity": 3, "Product": 4}  # Chicago only touches an entity
    assert stats.relationships == {"REL_121": 2, "REL_24": 1, "REL_68": 2, "REL_70": 1}
    degrees = sorted(DEGREES.values())
    assert stats.degree["min"] < stats.degree["max"]
    assert (stats.degree["min"], stats.degree["max"]) == (degrees[0], degrees[-1])
    assert stats.degree["mean"] == pytest.approx(sum(degrees) / len(degrees))
    assert stats.degree["p50"] == degrees[len(degrees) // 2]


def test_a_movies_only_import_has_degree_0_for_every_quantile(
    store: kg.GraphStore, tmp_path: Path
) -> None:
    import_folder(store, redial_folder(tmp_path, with_kg=False))
    stats = store.stats()
    assert stats.nodes == {"Product": len(MOVIES)}
    assert set(stats.degree.values()) == {0.0}
