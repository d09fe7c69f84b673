"""A deterministic temporal holdout of the demo interactions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kg.types import InteractionRow
from kgrec import domain


def is_positive(row: InteractionRow) -> bool:
    """Whether an interaction says the user wants the item (:func:`kgrec.domain.is_positive`)."""
    return domain.is_positive(row["type"], float(row.get("value", 0.0)))


@dataclass(frozen=True, slots=True)
class DemoSplit:
    """Train / validation / test interactions.

    For every user the positive items are ordered by the time of their first positive event;
    the last ``round(test * n)`` go to test, the ``round(valid * n)`` before them to valid
    (users with fewer than 3 positive items keep all of them in train). ``valid`` and ``test``
    hold the positive interactions with held-out items; ``train`` holds every other
    interaction — none with a held-out (user, item) pair, so nothing leaks.
    """

    train: list[InteractionRow]
    valid: list[InteractionRow]
    test: list[InteractionRow]

    @classmethod
    def of(cls, rows: Sequence[InteractionRow], valid: float = 0.1, test: float = 0.1) -> DemoSplit:
        if valid < 0 or test < 0 or valid + test >= 1:
            raise ValueError(f"need valid, test >= 0 and valid + test < 1, got {valid}, {test}")
        first_pos: dict[str, dict[str, float]] = defaultdict(dict)
        for row in rows:
            if is_positive(row):
                seen = first_pos[row["user_id"]]
                ts = row.get("ts", 0.0)
                if row["item_id"] not in seen or ts < seen[row["item_id"]]:
                    seen[row["item_id"]] = ts
        held: dict[tuple[str, str], str] = {}
        for user, items in first_pos.items():
            n = len(items)
            if n < 3:
                continue
            ordered = sorted(items, key=lambda item: (items[item], item))
            n_test = max(1, round(test * n)) if test > 0 else 0
            n_valid = max(1, round(valid * n)) if valid > 0 and n - n_test >= 2 else 0
            for item in ordered[n - n_test :]:
                held[(user, item)] = "test"
            for item in ordered[n - n_test - n_valid : n - n_test]:
                held[(user, item)] = "valid"
        out: dict[str, list[InteractionRow]] = {"train": [], "valid": [], "test": []}
        for row in rows:
            part = held.get((row["user_id"], row["item_id"]))
            if part is None:
                out["train"].append(row)
            elif is_positive(row):
                out[part].append(row)
        return cls(out["train"], out["valid"], out["test"])


__all__ = ["DemoSplit", "is_positive"]
