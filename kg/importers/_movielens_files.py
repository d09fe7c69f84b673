"""Where the MovieLens-100K files are, and parsers for the side files (IMDb, posters, names).

``MovieLensFiles.find(root)`` accepts the shared data root (holding ``movielens-100k/``,
``movielens-100k-kg/``, ``movielens-100k-side/``) or the ``movielens-100k`` folder itself
(the other two are then looked up beside it). Only ``u.item``, ``u.user``, ``u.data`` and
``u.genre`` are required; the KG and the side files are used when present.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kgrec.errors import InvalidInputError

from ._fields import read_csv
from ._loader import Skip, numbered_lines

logger = logging.getLogger(__name__)

ML = "movielens-100k"
KG = "movielens-100k-kg"
SIDE = "movielens-100k-side"
KB4REC = "kb4rec_ml-100k_freebase_subgraph"


@dataclass(frozen=True, slots=True)
class MovieLensFiles:
    ml: Path
    kg: Path | None  # recbole_ml-100k/ml-100k.kg
    link: Path | None  # recbole_ml-100k/ml-100k.link
    names: Path | None  # kb4rec e_names_fb.tsv (Freebase mid -> name)
    types: Path | None  # kb4rec e_types_fb.tsv (Freebase mid -> type)
    imdb: Path | None  # imdb_details/movielens100k_details.csv
    posters: Path | None  # ml100k_to_ml1m_map.tsv (poster_file relative to its folder)

    @property
    def item(self) -> Path:
        return self.ml / "u.item"

    @property
    def user(self) -> Path:
        return self.ml / "u.user"

    @property
    def data(self) -> Path:
        return self.ml / "u.data"

    @property
    def genre(self) -> Path:
        return self.ml / "u.genre"

    @classmethod
    def find(cls, root: Path) -> MovieLensFiles:
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise InvalidInputError("path", f"{root} is not a directory")
        if (root / "u.data").is_file():
            ml, base = root, root.parent
        elif (root / ML / "u.data").is_file():
            ml, base = root / ML, root
        else:
            raise InvalidInputError(
                "path", f"{root} holds neither u.data nor {ML}/u.data (the MovieLens-100K files)"
            )
        for name in ("u.item", "u.user", "u.genre"):
            if not (ml / name).is_file():
                raise InvalidInputError("path", f"{ml / name} is missing")

        def opt(*parts: str) -> Path | None:
            p = base.joinpath(*parts)
            if p.is_file():
                return p
            logger.warning("%s not found; importing without it", p)
            return None

        return cls(
            ml=ml,
            kg=opt(KG, "recbole_ml-100k", "ml-100k.kg"),
            link=opt(KG, "recbole_ml-100k", "ml-100k.link"),
            names=opt(KG, KB4REC, "ml-100k__easy-fbkg__e_names_fb.tsv"),
            types=opt(KG, KB4REC, "ml-100k__easy-fbkg__e_types_fb.tsv"),
            imdb=opt(SIDE, "imdb_details", "movielens100k_details.csv"),
            posters=opt(SIDE, "ml100k_to_ml1m_map.tsv"),
        )


def read_tsv_map(path: Path) -> dict[str, str]:
    """Two-column TSV -> dict (first value wins; malformed lines ignored with a count)."""
    out: dict[str, str] = {}
    bad = 0
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            bad += 1
            continue
        _, text = item
        key, sep, value = text.partition("\t")
        if not sep or not key.strip() or not value.strip():
            bad += 1
            continue
        out.setdefault(key.strip(), value.strip())
    if bad:
        logger.warning("%s: %d malformed line(s) ignored", path, bad)
    return out


def read_link(path: Path) -> Iterator[tuple[int, tuple[str, str]] | Skip]:
    """RecBole ``.link``: ``item_id <TAB> entity_id`` after a header line."""
    for item in numbered_lines(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, text = item
        parts = text.split("\t")
        if line == 1 and parts[0].startswith("item_id"):
            continue
        if len(parts) != 2 or not parts[0].strip().isdigit() or not parts[1].strip():
            yield Skip(line, "expected item_id <TAB> entity_id")
            continue
        yield line, (parts[0].strip(), parts[1].strip())


def read_posters(path: Path) -> dict[str, str]:
    """ML-100K item id -> absolute poster path, for the poster files that exist."""
    out: dict[str, str] = {}
    for item in read_csv(path, delimiter="\t"):
        if isinstance(item, Skip):
            continue
        _, row = item
        rel = (row.get("poster_file") or "").strip()
        item_id = (row.get("ml100k_item_id") or "").strip()
        if rel and item_id:
            p = (path.parent / rel).resolve()
            if p.is_file():
                out[item_id] = str(p)
    return out


@dataclass(frozen=True, slots=True)
class ImdbDetails:
    line: int
    item_id: str
    description: str
    directors: tuple[str, ...]
    writers: tuple[str, ...]
    cast: tuple[str, ...]


def _name_list(value: str | None, key: str) -> tuple[str, ...]:
    if not value or not value.strip():
        return ()
    parsed = ast.literal_eval(value)  # the CSV holds Python list reprs: "['David Lean']"
    if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
        raise ValueError(f"{key} is not a list of names")
    return tuple(dict.fromkeys(x.strip() for x in parsed if x.strip()))


def read_imdb(path: Path) -> Iterator[tuple[int, ImdbDetails] | Skip]:
    for item in read_csv(path):
        if isinstance(item, Skip):
            yield item
            continue
        line, row = item
        item_id = (row.get("movie_id") or "").strip()
        if not item_id.isdigit():
            yield Skip(line, f"movie_id {item_id!r} is not an ML-100K item id")
            continue
        try:
            yield (
                line,
                ImdbDetails(
                    line=line,
                    item_id=item_id,
                    description=(row.get("description") or "").strip(),
                    directors=_name_list(row.get("director"), "director"),
                    writers=_name_list(row.get("writer"), "writer"),
                    cast=_name_list(row.get("cast"), "cast"),
                ),
            )
        except (ValueError, SyntaxError) as e:
            yield Skip(line, f"unreadable name list: {e}")
