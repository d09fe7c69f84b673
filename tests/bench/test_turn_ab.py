"""bench.turn_ab: a module as it was at a revision, and the names a swap reaches."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.turn_ab import interval, module_at, swaps

ROOT = Path(__file__).resolve().parents[2]


def _has_history() -> bool:
    probe = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True)
    return probe.returncode == 0


needs_git = pytest.mark.skipif(not _has_history(), reason="not a git checkout: no revisions")


@needs_git
def test_an_old_module_loads_beside_todays_and_a_swap_reaches_every_importer() -> None:
    import server.pipeline
    import server.retrieval

    old = module_at("server.retrieval", "HEAD")
    assert old is not server.retrieval and old.__package__ == "server"
    assert old.retrieve is not server.retrieval.retrieve
    assert old.retrieve.__code__.co_filename == "HEAD:server/retrieval.py"
    found = swaps(["server.retrieval:retrieve"], "HEAD")
    owners = {owner for owner, *_ in found}
    assert {server.retrieval, server.pipeline} <= owners  # the pipeline's own import too
    today = server.retrieval.retrieve
    assert all(now is today and before is not now for _, _, now, before in found)
    ((owner, attr, now, before),) = swaps(["kg._filter_index:FilterIndex.briefs"], "HEAD")
    assert (owner.__name__, attr) == ("FilterIndex", "briefs") and before is not now


@needs_git
def test_a_module_with_dataclasses_loads_as_it_was() -> None:
    """``dataclass`` looks its class's module up in ``sys.modules`` while the module runs
    (string annotations), so the old module must be there."""
    import models.feedback.profiles

    old = module_at("models.feedback.profiles", "HEAD")
    assert old.ProfileBook is not models.feedback.profiles.ProfileBook
    assert old._Entry.__dataclass_fields__.keys() == {"version", "expires", "profile", "shared"}


def test_the_interval_brackets_a_shift_between_arms() -> None:
    rng = np.random.default_rng(1)
    before, after = rng.normal(10, 1, 800), rng.normal(9, 1, 800)
    d, lo, hi = interval(after, before, np.mean)
    assert lo < d < hi < 0 and abs(d + 1) < 0.2
    d, lo, hi = interval(before, before.copy(), np.median)
    assert d == 0.0 and lo <= 0.0 <= hi
