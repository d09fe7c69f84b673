"""Writes the fixed MovieLens-100K split as RecBole atomic benchmark files.

Input (read-only, see ``shared/data/movielens-100k-split/README.md``): ``train.tsv``,
``valid.tsv``, ``test.tsv`` with header ``user_id item_id rating timestamp``; and RecBole's own
``ml-100k.kg`` / ``ml-100k.link`` (``shared/data/movielens-100k-kg/recbole_ml-100k``).

Output, in ``<out_dir>/<name>/``::

    <name>.train.inter  <name>.valid.inter  <name>.test.inter   same rows, same order
    <name>.kg                                                    byte copy
    <name>.link                                  rows whose item occurs in the split

RecBole is then run with ``benchmark_filename: [train, valid, test]``, which loads the three
files in that order and skips all of its own filtering, so it evaluates exactly these rows.
With pre-split files RecBole also skips its link clean-up, so ``.link`` rows whose item never
occurs in the split are dropped here (else KGCN/KGAT raise ``KeyError``).

The dataset name must not be ``ml-100k``: RecBole 1.2.1 then forces ``data_path`` to the copy
inside its wheel and would never read these files.

Pure Python (standard library only), so it runs in the project venv and in RecBole's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_DATASET_NAME",
    "INTER_HEADER",
    "SPLIT_PARTS",
    "AtomicSummary",
    "read_split",
    "write_atomic_dataset",
]

SPLIT_PARTS = ("train", "valid", "test")
SPLIT_HEADER = ("user_id", "item_id", "rating", "timestamp")
INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"
LINK_HEADER = "item_id:token\tentity_id:token"
DEFAULT_DATASET_NAME = "ml-100k-split"
KG_STEM = "ml-100k"

Row = tuple[int, int, int, int]


@dataclass(frozen=True)
class AtomicSummary:
    """What :func:`write_atomic_dataset` wrote.

    Attributes:
        name: RecBole dataset name (file stem).
        data_path: the folder to give RecBole as ``data_path`` (parent of ``name``/).
        rows: rows per split part, in ``SPLIT_PARTS`` order.
        users: distinct users over the three parts.
        items: distinct items over the three parts (the evaluation item universe).
        kg_rows: triples copied to ``<name>.kg`` (0 when no KG was given).
        link_rows_kept: ``.link`` rows written.
        link_rows_dropped: ``.link`` rows dropped because their item is not in the split.
    """

    name: str
    data_path: Path
    rows: dict[str, int]
    users: int
    items: int
    kg_rows: int
    link_rows_kept: int
    link_rows_dropped: int


def read_split(split_dir: Path) -> dict[str, list[Row]]:
    """Reads ``train/valid/test.tsv``; checks the header and that (user, item) pairs are disjoint.

    Raises:
        ValueError: bad header, a non-integer field, or a pair in two parts (or twice in one).
    """
    parts: dict[str, list[Row]] = {}
    seen: dict[tuple[int, int], str] = {}
    for part in SPLIT_PARTS:
        path = Path(split_dir) / f"{part}.tsv"
        rows: list[Row] = []
        with path.open(encoding="utf-8") as fh:
            header = tuple(fh.readline().rstrip("\n").split("\t"))
            if header != SPLIT_HEADER:
                raise ValueError(f"{path}: header {header!r}, expected {SPLIT_HEADER!r}")
            for lineno, line in enumerate(fh, start=2):
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 4:
                    raise ValueError(f"{path}:{lineno}: expected 4 fields, got {len(fields)}")
                try:
                    user, item, rating, ts = (int(f) for f in fields)
                except ValueError as e:
                    raise ValueError(f"{path}:{lineno}: non-integer field in {line!r}") from e
                pair = (user, item)
                if pair in seen:
                    raise ValueError(f"{path}:{lineno}: pair {pair} already in {seen[pair]}")
                seen[pair] = part
                rows.append((user, item, rating, ts))
        parts[part] = rows
    return parts


def write_atomic_dataset(
    split_dir: Path,
    out_dir: Path,
    kg_dir: Path | None = None,
    name: str = DEFAULT_DATASET_NAME,
) -> AtomicSummary:
    """Writes the split (and, if ``kg_dir`` is given, the KG) as RecBole atomic files.

    Args:
        split_dir: folder with ``train.tsv``, ``valid.tsv``, ``test.tsv``.
        out_dir: RecBole ``data_path``; files go to ``out_dir/name/``.
        kg_dir: folder with ``ml-100k.kg`` and ``ml-100k.link``; ``None`` writes no KG files.
        name: dataset name (anything but ``ml-100k``, see the module docstring).
    """
    if name == "ml-100k":
        raise ValueError("RecBole 1.2.1 ignores data_path for a dataset named 'ml-100k'")
    parts = read_split(split_dir)
    target = Path(out_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    users: set[int] = set()
    items: set[int] = set()
    for part, rows in parts.items():
        with (target / f"{name}.{part}.inter").open("w", encoding="utf-8") as fh:
            fh.write(INTER_HEADER + "\n")
            for user, item, rating, ts in rows:
                fh.write(f"{user}\t{item}\t{rating}\t{ts}\n")
                users.add(user)
                items.add(item)

    kg_rows = kept = dropped = 0
    if kg_dir is not None:
        kg_src = Path(kg_dir) / f"{KG_STEM}.kg"
        shutil.copyfile(kg_src, target / f"{name}.kg")
        with kg_src.open(encoding="utf-8") as fh:
            kg_rows = sum(1 for _ in fh) - 1
        kept, dropped = _write_link(
            Path(kg_dir) / f"{KG_STEM}.link", target / f"{name}.link", items
        )

    return AtomicSummary(
        name=name,
        data_path=Path(out_dir),
        rows={part: len(rows) for part, rows in parts.items()},
        users=len(users),
        items=len(items),
        kg_rows=kg_rows,
        link_rows_kept=kept,
        link_rows_dropped=dropped,
    )


def _write_link(src: Path, dst: Path, items: set[int]) -> tuple[int, int]:
    kept = dropped = 0
    with src.open(encoding="utf-8") as fin, dst.open("w", encoding="utf-8") as fout:
        header = fin.readline().rstrip("\n")
        if header != LINK_HEADER:
            raise ValueError(f"{src}: header {header!r}, expected {LINK_HEADER!r}")
        fout.write(header + "\n")
        for line in fin:
            item = line.split("\t", 1)[0]
            if item.isdigit() and int(item) in items:
                fout.write(line if line.endswith("\n") else line + "\n")
                kept += 1
            else:
                dropped += 1
    return kept, dropped
