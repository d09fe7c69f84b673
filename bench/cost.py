"""Cost of reaching a valid NDCG@10: optimizer steps and training seconds, per run.

Seconds per epoch mislead across trainers (issue 17 item 3): kgrec takes a few large batches
per epoch, RecBole's models many small ones, and kgrec's one-off text/image encoding happens
before the first epoch. So each run is read from its *valid curve* -- one point per
validation with the epoch, the optimizer steps and the training seconds done so far, and the
valid NDCG@10 (``models.training.trainer.valid_curve``; RecBole's from
``bench.recbole_child``) -- and the cost of a target is the first point at or above it.

Targets are fractions of a reference valid NDCG@10, the best tuned peer's (EASE^R, chosen
on valid; a closed form: no steps, its cost is its fit time). Only valid data is read here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

__all__ = [
    "FRACTIONS",
    "cost_table",
    "ease_reference",
    "first_reaching",
    "targets",
]

#: targets as fractions of the reference valid NDCG@10
FRACTIONS = (0.90, 0.95, 1.00)

Curve = Sequence[dict[str, Any]]


def targets(reference: float, fractions: Sequence[float] = FRACTIONS) -> list[float]:
    """The valid NDCG@10 targets ``fraction * reference``."""
    return [f * reference for f in fractions]


def first_reaching(curve: Curve, target: float) -> dict[str, Any] | None:
    """The first point of ``curve`` (in epoch order) whose valid NDCG@10 is ``>= target``;
    ``None`` when the run never reached it."""
    for point in sorted(curve, key=lambda p: p["epoch"]):
        if point["valid_ndcg@10"] >= target:
            return point
    return None


def ease_reference(dataset: Any) -> dict[str, Any]:
    """EASE^R's valid NDCG@10 with lambda chosen on valid (``bench.peer_runs.choose_ease``),
    the seconds of that selection (one fit and valid evaluation per lambda of the grid) and
    of one fit at the chosen lambda."""
    from bench.peer_runs import EASE_GRID, choose_ease
    from bench.peers import ease

    t0 = time.perf_counter()
    lam, by_lam = choose_ease(dataset, EASE_GRID)
    grid_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    ease(dataset.train, dataset.num_users, dataset.num_items, lam)
    fit_seconds = time.perf_counter() - t0
    return {
        "valid_ndcg@10": by_lam[lam],
        "lambda": lam,
        "fit_seconds": fit_seconds,
        "grid_seconds": grid_seconds,
        "grid": len(EASE_GRID),
    }


def _cells(curve: Curve | None, goals: Sequence[float]) -> tuple[str, list[str]]:
    """The best valid NDCG@10 and, per target, the steps and seconds to reach it."""
    if not curve:
        return "n/a", ["n/a", "n/a"] * len(goals)
    best = max(p["valid_ndcg@10"] for p in curve)
    out: list[str] = []
    for goal in goals:
        point = first_reaching(curve, goal)
        if point is None:
            out += ["never", "never"]
        else:
            out += [str(point["steps"]), f"{point['train_seconds']:.1f}"]
    return f"{best:.4f}", out


def cost_table(
    rows: dict[str, dict[str, Any]],
    reference: float,
    fractions: Sequence[float] = FRACTIONS,
) -> str:
    """One line per run: best valid NDCG@10, epochs and optimizer steps run, and the steps
    and training seconds to the first validation at or above each target.

    A row is ``{"curve": [...] or None, "epochs": n, "steps": n, "features": "s" or "",
    "valid": float (closed forms), "fit_seconds": s (closed forms only), "wall": s (the
    whole run, however the caller measured it)}``. A run without a
    curve prints ``n/a``; a target it never reached, ``never``.
    """
    goals = targets(reference, fractions)
    head = ["run", "best valid", "epochs", "steps"]
    for f in fractions:
        head += [f"steps@{f:.0%}", f"s@{f:.0%}"]
    head += ["features s", "run wall s"]
    lines = []
    for name, row in rows.items():
        fit = row.get("fit_seconds")
        if fit is None:
            best, cells = _cells(row.get("curve"), goals)
        else:  # a closed form: no steps; the target is met by the one fit, or never
            best = f"{row['valid']:.4f}"
            cells = [
                c if row["valid"] >= g else "never" for g in goals for c in ("-", f"{fit:.1f}")
            ]
        epochs = row.get("epochs")
        steps = row.get("steps")
        lines.append(
            [
                name,
                best,
                "-" if epochs is None else str(epochs),
                "-" if steps is None else str(steps),
                *cells,
                row.get("features", "") or "-",
                "-" if row.get("wall") is None else f"{row['wall']:.0f}",
            ]
        )
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(
        [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*r) for r in lines]
    )
