"""Field parsing shared by the importers: ids from names, lists, numbers, timestamps, CSV."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ._loader import Skip

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


class FieldError(ValueError):
    """A field of a row is missing or malformed; the message names the field."""


def slug(text: str) -> str:
    """``"Running Shoes"`` -> ``"running-shoes"`` (Unicode letters kept, NFKC-normalised)."""
    s = _NON_WORD.sub("-", unicodedata.normalize("NFKC", text).casefold()).strip("-_")
    if not s:
        raise FieldError(f"{text!r} has no letters or digits to build an id from")
    return s


def name_from_id(node_id: str) -> str:
    """A readable fallback name for an id: ``"cat:running-shoes"`` -> ``"running shoes"``."""
    tail = node_id.split(":", 1)[-1]
    return tail.replace("-", " ").replace("_", " ").strip() or node_id


def required(row: dict[str, object], key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(f"missing {key}")
    if not isinstance(value, str | int):
        raise FieldError(f"{key} must be a string, got {type(value).__name__}")
    return str(value).strip()


def optional_str(row: dict[str, object], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise FieldError(f"{key} must be a string, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


def parse_float(value: object, key: str, *, minimum: float | None = None) -> float | None:
    """A float from a number or string; ``None``/empty -> ``None``; NaN and inf rejected."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"{key} must be a number, got {value!r}")
    try:
        x = float(value)
    except ValueError:
        raise FieldError(f"{key} must be a number, got {value!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise FieldError(f"{key} must be finite, got {value!r}")
    if minimum is not None and x < minimum:
        raise FieldError(f"{key} must be >= {minimum:g}, got {value!r}")
    return x


def parse_ts(value: object, key: str = "ts") -> float | None:
    """Unix seconds from a number, or from an ISO-8601 string (naive means UTC)."""
    try:
        return parse_float(value, key, minimum=0)
    except FieldError:
        if not isinstance(value, str):
            raise
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(f"{key} must be unix seconds or ISO-8601, got {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def split_list(value: object, key: str, sep: str = ";") -> list[str]:
    """A JSON list of strings, or a ``sep``-separated string; empty items dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(sep)
    elif isinstance(value, list):
        items = value
    else:
        raise FieldError(f"{key} must be a list or a {sep!r}-separated string")
    out = []
    for item in items:
        if not isinstance(item, str | int):
            raise FieldError(f"{key} items must be strings, got {item!r}")
        text = str(item).strip()
        if text:
            out.append(text)
    return out


def read_csv(
    path: Path,
    encoding: str = "utf-8",
    fieldnames: list[str] | None = None,
    delimiter: str = ",",
) -> Iterator[tuple[int, dict[str, str]] | Skip]:
    """Rows of a CSV file as ``(first_line_of_record, {column: value})``.

    The first line is the header unless ``fieldnames`` are given.
    Quoted fields may span lines. Rows with more fields than the header, and rows that do not
    decode, come out as :class:`Skip`.
    """
    undecodable: dict[int, str] = {}

    def lines() -> Iterator[str]:
        with path.open("rb") as f:
            for n, raw in enumerate(f, start=1):
                try:
                    yield raw.decode(encoding)
                except UnicodeDecodeError as e:
                    undecodable[n] = f"not valid {encoding}: {e.reason} at byte {e.start}"
                    yield raw.decode(encoding, errors="replace")

    reader = csv.reader(lines(), delimiter=delimiter)
    if fieldnames is not None:
        header = fieldnames
    else:
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except StopIteration:
            return
        except csv.Error as e:
            yield Skip(1, f"bad CSV header: {e}")
            return
    previous_end = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield Skip(previous_end + 1, f"bad CSV: {e}")
            previous_end = reader.line_num
            continue
        first, previous_end = previous_end + 1, reader.line_num
        bad = [undecodable[n] for n in range(first, previous_end + 1) if n in undecodable]
        if bad:
            yield Skip(first, bad[0])
        elif not fields or all(not f.strip() for f in fields):
            continue
        elif len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
            yield Skip(first, f"{len(fields)} fields, the header has {len(header)}")
        else:
            yield first, dict(zip(header, fields, strict=False))
