"""MovieLens-100K loader: the fixed split, RecBole's Freebase KG, IMDb text and posters.

Paths (all read-only, passed in):

* ``split_dir`` -- ``train.tsv``/``valid.tsv``/``test.tsv`` (``user_id item_id rating timestamp``).
* ``kg_dir`` -- folder holding ``ml-100k.kg``/``ml-100k.link``/``ml-100k.item`` (or its parent
  ``movielens-100k-kg`` with ``recbole_ml-100k/``); ``None``: no KG, titles from the split only.
* ``side_dir`` -- ``movielens-100k-side`` (``imdb_details/movielens100k_details.json``,
  ``ml100k_to_ml1m_map.tsv`` + ``posters_ml1m_ids/``); ``None``: no plot text, no posters.

The item universe is the items of the three split files (1,447), as the split's protocol says.
Rating features use the training rows only (no leakage from valid/test).
"""

from __future__ import annotations

import ast
import csv
import json
import logging
from pathlib import Path

import numpy as np

from models.data.rec_dataset import RecDataset, _index_triples, _rating_arrays

logger = logging.getLogger(__name__)

__all__ = ["load_movielens"]


def _read_split(path: Path) -> np.ndarray:
    rows = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.int64, ndmin=2)
    return rows  # (n, 4) user, item, rating, ts


def _recbole_dir(kg_dir: Path) -> Path:
    for cand in (kg_dir, kg_dir / "recbole_ml-100k"):
        if (cand / "ml-100k.kg").exists():
            return cand
    raise FileNotFoundError(f"no ml-100k.kg under {kg_dir}")


def _read_atomic(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    return [line.split("\t") for line in lines[1:] if line]


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return [value]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]
    return [str(value)] if value else []


def load_movielens(split_dir: Path, kg_dir: Path | None, side_dir: Path | None) -> RecDataset:
    splits = {name: _read_split(split_dir / f"{name}.tsv") for name in ("train", "valid", "test")}
    users = sorted({int(u) for rows in splits.values() for u in rows[:, 0]})
    items = sorted({int(i) for rows in splits.values() for i in rows[:, 1]})
    user_index = {u: k for k, u in enumerate(users)}
    item_index = {str(i): k for k, i in enumerate(items)}

    def pairs(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), 2), dtype=np.int64)
        out[:, 0] = [user_index[int(u)] for u in rows[:, 0]]
        out[:, 1] = [item_index[str(int(i))] for i in rows[:, 1]]
        return out

    train = splits["train"]
    rating_rows = _rating_arrays(
        [
            (item_index[str(int(i))], float(r), float(t))
            for i, r, t in zip(train[:, 1], train[:, 2], train[:, 3], strict=True)
        ]
    )

    titles = {k: "" for k in item_index}
    genres: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    if kg_dir is not None:
        rb = _recbole_dir(kg_dir)
        for row in _read_atomic(rb / "ml-100k.item"):
            if row[0] in titles:
                titles[row[0]] = f"{row[1]} ({row[2]})" if len(row) > 2 else row[1]
                genres[row[0]] = row[3] if len(row) > 3 else ""
        mid_to_item = {row[1]: row[0] for row in _read_atomic(rb / "ml-100k.link")}
        mid_to_item = {m: i for m, i in mid_to_item.items() if i in item_index}
        for head, rel, tail in _read_atomic(rb / "ml-100k.kg"):
            edges.append((mid_to_item.get(head, head), rel, mid_to_item.get(tail, tail)))
    entity_ids, relations, item_entity, entity_entity = _index_triples(edges, item_index)

    texts = [titles[k] for k in item_index]
    images: list[Path | None] = [None] * len(items)
    if side_dir is not None:
        details_path = side_dir / "imdb_details" / "movielens100k_details.json"
        details = {str(d["movie_id"]): d for d in json.loads(details_path.read_text())}
        for k, pos in item_index.items():
            d = details.get(k)
            parts = [titles[k] or (d or {}).get("movie_title", "")]
            if genres.get(k):
                parts.append(f"Genres: {genres[k]}.")
            if d:
                for key, label in (
                    ("director", "Director"),
                    ("writer", "Writer"),
                    ("cast", "Cast"),
                ):
                    names = _as_list(d.get(key, ""))[:8]
                    if names:
                        parts.append(f"{label}: {', '.join(names)}.")
                if d.get("description"):
                    parts.append(str(d["description"]))
            texts[pos] = " ".join(p for p in parts if p)
        with (side_dir / "ml100k_to_ml1m_map.tsv").open(encoding="utf-8") as f:
            for rec in csv.DictReader(f, delimiter="\t"):
                where = item_index.get(rec["ml100k_item_id"])
                poster = rec.get("poster_file") or ""
                if where is not None and poster and (side_dir / poster).is_file():
                    images[where] = side_dir / poster
    dataset = RecDataset(
        name="movielens-100k",
        user_ids=[str(u) for u in users],
        item_ids=list(item_index),
        entity_ids=entity_ids,
        relations=relations,
        train=pairs(train),
        valid=pairs(splits["valid"]),
        test=pairs(splits["test"]),
        item_entity=item_entity,
        entity_entity=entity_entity,
        item_texts=texts,
        item_images=images,
        rating_rows=rating_rows,
        item_titles=[titles[k] for k in item_index],
        pair_ratings={name: rows[:, 2].astype(np.float64) for name, rows in splits.items()},
    )
    logger.info("%s", dataset.summary())
    return dataset
