"""bench.cost: the first validation reaching a target, and the cost table's cells."""

from __future__ import annotations

import pytest

from bench.cost import cost_table, first_reaching, targets

CURVE = [
    {"epoch": 2, "steps": 6, "train_seconds": 1.0, "valid_ndcg@10": 0.10},
    {"epoch": 4, "steps": 12, "train_seconds": 2.5, "valid_ndcg@10": 0.19},
    {"epoch": 6, "steps": 18, "train_seconds": 4.0, "valid_ndcg@10": 0.21},
    {"epoch": 8, "steps": 24, "train_seconds": 5.5, "valid_ndcg@10": 0.20},
]


def test_targets_are_fractions_of_the_reference() -> None:
    assert targets(0.2, (0.5, 1.0)) == pytest.approx([0.1, 0.2])


def test_first_reaching_takes_the_first_point_at_or_above() -> None:
    assert first_reaching(CURVE, 0.10)["epoch"] == 2  # type: ignore[index]  # equal counts
    assert first_reaching(CURVE, 0.15)["steps"] == 12  # type: ignore[index]
    assert first_reaching(CURVE, 0.205)["train_seconds"] == 4.0  # type: ignore[index]
    assert first_reaching(CURVE, 0.22) is None
    assert first_reaching([], 0.0) is None
    # epoch order, whatever order the points come in
    assert first_reaching(list(reversed(CURVE)), 0.15)["epoch"] == 4  # type: ignore[index]


def _cells(table: str, name: str) -> list[str]:
    line = next(row for row in table.splitlines() if row.startswith(name))
    return line[len(name) :].split()


def test_cost_table_cells() -> None:
    rows = {
        "peer": {"valid": 0.20, "fit_seconds": 1.23},
        "kg run": {"curve": CURVE, "epochs": 8, "steps": 24, "features": "3.0 (cold)", "wall": 9.4},
        "norec": {"curve": None, "epochs": 10, "steps": None},
    }
    table = cost_table(rows, reference=0.20, fractions=(0.9, 1.0, 1.04))
    head = table.splitlines()[0].split()
    assert head[:4] == ["run", "best", "valid", "epochs"]
    assert "steps@90%" in head and "s@104%" in head
    # best valid, epochs, steps, then (steps, s) per target 0.18 / 0.20 / 0.208, features
    assert _cells(table, "kg run") == [
        "0.2100", "8", "24", "12", "2.5", "18", "4.0", "18", "4.0", "3.0", "(cold)", "9",
    ]  # fmt: skip
    # a closed form: no steps, its fit time for every target its valid NDCG reaches
    assert _cells(table, "peer") == [
        "0.2000", "-", "-", "-", "1.2", "-", "1.2", "never", "never", "-", "-",
    ]  # fmt: skip
    assert _cells(table, "norec") == ["n/a", "10", "-", *(["n/a"] * 6), "-", "-"]
