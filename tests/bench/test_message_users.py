"""The one-line-message benchmark's own parts: what each shopper says, and its table's
figures on constructed runs (the served run itself is a benchmark, not a test)."""

from __future__ import annotations

import numpy as np

from bench.feedback_sim import simulated_users
from bench.feedback_sim_users import first_message, turn_rng
from bench.message_users import RANKERS, message_tables, shopper_messages
from kg.demo import generate_demo
from kg.demo.brands import BRAND_BY_ID
from kg.demo.taxonomy import LEAF_BY_ID


def test_each_shopper_says_their_category_then_a_colour_and_a_brand_that_makes_it() -> None:
    users = simulated_users(60, 10, seed=3, n=8)
    tastes = generate_demo(seed=3, n_products=60, n_users=18)
    with_brand = 0
    for user in users:
        said = shopper_messages(user, seed=3)
        taste = tastes.tastes[user.taste_id]
        assert user.taste == taste
        leaf = LEAF_BY_ID[user.categories[0]]
        # the plain opener is the feedback simulator's first message, word for word
        assert said["category"] == first_message(leaf.id, turn_rng(3, user.index, 0, 1))
        assert taste.colors[0] in said["detail"]
        named = [b for b in taste.brands if f"from {BRAND_BY_ID[b].name}" in said["detail"]]
        assert all(leaf.slug in BRAND_BY_ID[b].categories for b in named)
        with_brand += bool(named)
        # the same wording: the detail is the category opener with more words in it
        assert set(said["category"].rstrip("?").split()) <= set(said["detail"].split())
    assert with_brand > 0


def _run(values: dict[str, list[float]], short: int = 0) -> dict[str, object]:
    n = len(values["kgrec"])
    return {
        "messages": {"category": ["shoes"] * n, "detail": ["red shoes"] * n},
        "ndcg": {"category": values, "detail": values},
        "kgrec_short": {"category": 0, "detail": short},
    }


def test_the_table_pools_runs_and_pairs_kgrec_with_each_ranker() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(50).tolist()
    values = {r: base for r in RANKERS}
    values["kgrec"] = [v + 0.1 for v in base]  # better than every other ranker by 0.1
    values["popularity"] = [0.0] * 50
    lines = message_tables([_run(values, 3), _run(values, 2)], samples=200)
    assert "2 seed(s), 100 shoppers" in lines[0]
    row = next(line for line in lines if line.startswith("| category"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[RANKERS.index("kgrec") + 1]) == round(np.mean(base) + 0.1, 4)
    assert float(cells[1]) == 0.0  # popularity
    # kgrec - text-kNN: +0.1 for every shopper, so the interval is the point
    assert cells[len(RANKERS) + 2] == "+0.1000 [+0.1000, +0.1000]"
    assert lines[-1].endswith("category 0, detail 5")
