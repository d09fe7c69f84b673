"""MovieLens-100K's own files (u.genre, u.item, u.user, u.data) as import rows, and the id scheme.

The ids every MovieLens node gets (``movie:<id>``, ``user:<id>``, ``fb:<mid>``,
``cat:<genre>``) are defined here once, for the importer (:mod:`kg.importers.movielens`), the
Freebase/IMDb graph builder (:mod:`kg.importers._movielens_kg`) and the linking evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..schema import relation_type
from ..types import AttributeRow, CategoryRow, InteractionRow, ProductRow, UserRow
from ._fields import slug
from ._loader import Skip, numbered_lines
from ._movielens_files import ImdbDetails

ROOT_CATEGORY: CategoryRow = {"id": "cat:movies", "name": "Movies"}
HAS_GENRE = relation_type("has_genre")
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
