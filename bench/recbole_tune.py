"""A small hyper-parameter grid per RecBole model, chosen on valid NDCG@10 only.

Issue 17's audit found the RecBole peers run on their defaults (lr 1e-3, ``stopping_step``
10, which stops some settings on an early plateau) while kgrec's recipe was tuned. With
``python -m bench.recbole_runner --tune`` each model of :data:`TUNE_GRIDS` is trained at every
point of its grid with ``stopping_step`` :data:`TUNE_STOPPING_STEP`; the point with the best
valid NDCG@10 (RecBole's best-valid epoch) is the ``"<model> tuned"`` entry of the results,
its test metrics read from that same run. Test is never looked at to choose.
"""

from __future__ import annotations

import itertools
from typing import Any

__all__ = [
    "TUNE_GRIDS",
    "TUNE_STOPPING_STEP",
    "choose",
    "grid_points",
    "point_label",
    "tuned_entry",
]

#: Validations without improvement before a tuned run stops (RecBole's default is 10).
TUNE_STOPPING_STEP = 30

#: RecBole config keys (the model's own YAML names) -> values tried. LightGCN's grid holds the
#: audit's choice (lr 2e-3, 2 layers, reg 1e-5); BPR has no regulariser of its own in RecBole.
TUNE_GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "LightGCN": {
        "learning_rate": (1e-3, 2e-3, 5e-3),
        "n_layers": (2, 3),
        "reg_weight": (1e-5, 1e-4),
    },
    "BPR": {"learning_rate": (1e-3, 2e-3, 5e-3, 1e-2)},
    "KGCN": {"learning_rate": (1e-3, 5e-3)},
    # KGAT's default run (lr 1e-3) is still improving at its 100-epoch cap (~11 s an epoch
    # here): run the grid with ``--epochs-for KGAT=300``
    "KGAT": {"learning_rate": (1e-3, 5e-3, 1e-2)},
}


def grid_points(model: str) -> list[dict[str, Any]]:
    """Every combination of ``model``'s grid, in a fixed order."""
    grid = TUNE_GRIDS.get(model)
    if grid is None:
        raise ValueError(f"no tuning grid for {model!r}; grids: {', '.join(TUNE_GRIDS)}")
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def point_label(params: dict[str, Any]) -> str:
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _valid_ndcg(entry: dict[str, Any]) -> float | None:
    if entry.get("status") != "ok":
        return None
    value = (entry.get("best_valid") or {}).get("ndcg@10")
    return float(value) if value is not None else None


def choose(entries: list[dict[str, Any]]) -> int | None:
    """Index of the entry with the best valid NDCG@10 (the first on a tie); ``None`` when no
    run finished."""
    scored = [(v, -i) for i, e in enumerate(entries) if (v := _valid_ndcg(e)) is not None]
    return -max(scored)[1] if scored else None


def tuned_entry(points: list[dict[str, Any]], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The chosen run's entry plus ``grid`` (every point: params, status, valid NDCG@10,
    best/epochs) and ``chosen`` (its params); status ``"failed"`` when no point finished."""
    grid = [
        {
            "params": p,
            "status": e.get("status"),
            "valid_ndcg@10": _valid_ndcg(e),
            "best_epoch": e.get("best_epoch"),
            "epochs": e.get("epochs"),
        }
        for p, e in zip(points, entries, strict=True)
    ]
    best = choose(entries)
    if best is None:
        return {"status": "failed", "grid": grid, "error_tail": "no grid point finished"}
    return {**entries[best], "grid": grid, "chosen": points[best], "selected_on": "valid ndcg@10"}
