"""The feedback simulator's figures: each arm's metrics with bootstrap intervals, the paired
lifts between arms, and the printed tables (:mod:`bench.feedback_sim` runs the arms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.feedback_sim_stats import METRICS, Estimate, Tally, bootstrap_ratio, paired_lift

__all__ = ["ArmResult", "arm_figures", "compare_runs", "lift_figures", "print_report"]


@dataclass
class ArmResult:
    name: str
    settings: dict[str, Any]
    tally: Tally
    wall_s: float

    @property
    def turns_per_s(self) -> float:
        return self.tally.turns / self.wall_s if self.wall_s else float("nan")


def _fmt(e: Estimate, pct: bool = False) -> str:
    k = 100.0 if pct else 1.0
    unit = "%" if pct else ""
    return (
        f"{e.value * k:+.1f}{unit} [{e.low * k:+.1f}, {e.high * k:+.1f}]"
        if pct
        else (f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]")
    )


def arm_figures(result: ArmResult, n_boot: int, seed: int) -> dict[str, Any]:
    t = result.tally
    return {
        "settings": result.settings,
        "sessions": t.sessions,
        "turns": t.turns,
        "events": t.events,
        "wall_s": result.wall_s,
        "turns_per_s": result.turns_per_s,
        **{m: bootstrap_ratio(*t.pair(m), n_boot=n_boot, seed=seed).as_dict() for m in METRICS},
        "ctr_by_position": (t.position_clicks / np.maximum(t.position_impressions, 1))[
            : int((t.position_impressions > 0).sum())
        ].tolist(),
        # each shopper's sums, so another run of the same shoppers can be paired with this one
        "per_shopper": {f: getattr(t, f).tolist() for pair in METRICS.values() for f in pair},
    }


#: what must match for two runs to be paired by shopper (same shoppers, scripts and dice)
SAME_RUN = ("seed", "sessions_per_arm", "sessions", "turns", "products", "users",
            "known_users", "top_n", "workers")  # fmt: skip


def compare_runs(
    before: Mapping[str, Any], after: Mapping[str, Any], n_boot: int, seed: int
) -> dict[str, dict[str, dict[str, float]]]:
    """``"<arm>: this run over before"`` -> metric -> the paired lift, per arm both runs
    have; the runs must share :data:`SAME_RUN` (their shoppers, scripts and click dice are
    then the same, so each shopper is paired with themselves). A ``before`` written without
    per-shopper sums cannot be paired: ``ValueError``."""
    differ = [k for k in SAME_RUN if before["config"].get(k) != after["config"].get(k)]
    if differ:
        raise ValueError(f"runs differ in {', '.join(differ)}: not the same shoppers")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for arm, b in after["arms"].items():
        a = before["arms"].get(arm)
        if a is None:
            continue
        if "per_shopper" not in a:
            raise ValueError("the earlier run has no per-shopper sums (written before they were)")
        out[f"{arm}: this run over before"] = {
            m: paired_lift(_sums(a, m), _sums(b, m), n_boot=n_boot, seed=seed).as_dict()
            for m in METRICS
        }
    return out


def _sums(arm: Mapping[str, Any], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``metric``'s (numerator, denominator) per shopper, from an arm's figures."""
    num, den = METRICS[metric]
    return np.asarray(arm["per_shopper"][num]), np.asarray(arm["per_shopper"][den])


def lift_figures(
    results: Sequence[ArmResult], n_boot: int, seed: int
) -> dict[str, dict[str, dict[str, float]]]:
    """``"b over a"`` -> metric -> paired lift, for the last arm over the first and for each
    arm over the one before it."""
    pairs = [(results[0], results[-1])] if len(results) > 1 else []
    pairs += [(a, b) for a, b in zip(results, results[1:], strict=False)]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for a, b in pairs:
        key = f"{b.name} over {a.name}"
        if key not in out:
            out[key] = {m: paired_lift(a.tally.pair(m), b.tally.pair(m), n_boot=n_boot,
                                       seed=seed).as_dict() for m in METRICS}  # fmt: skip
    return out


def print_report(figures: dict[str, Any], logging: Mapping[str, Any]) -> None:
    """The figures as tables; ``logging``: the off-policy logging run's settings."""
    print()
    head = f"{'arm':<9} {'sessions':>8} {'CTR later turns':>26} {'CTR all turns':>26} "
    head += f"{'purchase rate':>26} {'NDCG@10 later':>26} {'repeats later':>26} {'turns/s':>8}"
    print(head)
    for name, f in figures["arms"].items():
        cells = [_fmt(Estimate(**f[m])) for m in METRICS]
        print(f"{name:<9} {f['sessions']:>8} " + " ".join(f"{c:>26}" for c in cells)
              + f" {f['turns_per_s']:>8.1f}")  # fmt: skip
    if figures["lifts"]:
        print("\npaired lift (relative, 95% bootstrap interval over shoppers)")
        print(f"{'':<22} " + " ".join(f"{m:>24}" for m in METRICS))
        for key, lifts in figures["lifts"].items():
            cells = [_fmt(Estimate(**lifts[m]), pct=True) for m in METRICS]
            print(f"{key:<22} " + " ".join(f"{c:>24}" for c in cells))
    ope = figures.get("ope")
    if ope:
        truth = Estimate(**ope["on_policy_ctr"])
        print(
            f"\noff-policy check: {ope['logged_turns']} logged turns, exploration "
            f"{logging['explore_rate']} over the best {logging['explore_top']}; "
            f"matched slots {ope['matched']:.1%}, unsupported {ope['unsupported']:.1%}"
        )
        print(f"  logging policy CTR (observed)  {_fmt(Estimate(**ope['logging_ctr']))}")
        print(f"  frozen LinUCB on-policy CTR    {_fmt(truth)}")
        for k, e in ope["estimates"].items():
            inside = "yes" if e["contains_on_policy"] else "NO"
            print(f"  {k.upper():<5} off-policy estimate    "
                  f"{_fmt(Estimate(e['value'], e['low'], e['high']))}  "
                  f"on-policy figure inside: {inside}")  # fmt: skip
    m = figures["machine"]
    print(f"\n{m['cpus']} CPUs, load average {m['load_before']} before, {m['load_after']} after; "
          f"wall {figures['wall_s']:.0f} s ({m['setup_s']:.0f} s setup)")  # fmt: skip
