"""The feedback simulator's own parts: seeded shoppers and dice, a click model whose CTR falls
with position, the paired-lift statistics on constructed examples, and the CLI end to end on
a tiny store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bench.feedback_sim import SimConfig, main, run_arm, simulated_users
from bench.feedback_sim_report import compare_runs
from bench.feedback_sim_stats import Tally, bootstrap_ratio, paired_lift
from bench.feedback_sim_users import ClickModel, follow_up, ndcg_at, turn_rng
from kgrec.domain import FeedbackEvent, RankedItem, RecommendQuery


@dataclass
class FakePipeline:
    """Shows ten catalogue items per turn, moved on by the feedback it has received (so the
    shoppers' reactions change what they see next, as adaptation would)."""

    catalogue: list[str]
    events: list[FeedbackEvent] = field(default_factory=list)
    queries: list[RecommendQuery] = field(default_factory=list)

    def recommend_sync(self, query: RecommendQuery) -> object:
        self.queries.append(query)
        start = (len(self.events) * 7 + len(query.message)) % len(self.catalogue)
        ids = [self.catalogue[(start + k) % len(self.catalogue)] for k in range(query.limit)]
        items = tuple(RankedItem(i, i, 1.0) for i in ids)
        sid = query.session_id or f"s{len(self.queries)}"
        return type("Rec", (), {"session_id": sid, "items": items})()

    def feedback_sync(self, event: FeedbackEvent) -> None:
        self.events.append(event)


@pytest.fixture(scope="module")
def users() -> list:
    return simulated_users(products=150, users=10, seed=3, n=12, top_n=20)


def _figures(tally: Tally) -> tuple:
    return tuple(np.concatenate([a for m in ("ctr_all", "ndcg_later") for a in tally.pair(m)]))


def test_the_same_seed_gives_the_same_shoppers_scripts_and_clicks(users: list) -> None:
    catalogue = sorted(users[0].position)
    cfg = SimConfig(seed=3, sessions=2, turns=3)
    first, again = FakePipeline(catalogue), FakePipeline(catalogue)
    a, b = run_arm(first, users, cfg, "a"), run_arm(again, users, cfg, "b")
    assert _figures(a) == _figures(b)
    assert [q.message for q in first.queries] == [q.message for q in again.queries]
    assert [(e.item_id, e.event_type) for e in first.events] == [
        (e.item_id, e.event_type) for e in again.events
    ]
    assert a.sessions == 24 and a.turns == 72 and a.clicks_all.sum() > 0
    other = run_arm(FakePipeline(catalogue), users, SimConfig(seed=4, sessions=2, turns=3), "c")
    assert _figures(other) != _figures(a)
    # shoppers are fresh ids the model never trained on; their tastes are extra demo users
    assert users[0].user_id == "sim:0" and users[0].taste_id == "user:10"
    assert all(q.explain is False and q.explore is False for q in first.queries)


def test_known_shoppers_keep_their_demo_ids() -> None:
    mixed = simulated_users(products=150, users=10, seed=3, n=4, known=2, top_n=20)
    assert [u.user_id for u in mixed] == ["user:0", "user:1", "sim:2", "sim:3"]
    with pytest.raises(ValueError, match="known users"):
        simulated_users(products=150, users=10, seed=3, n=4, known=5)


def test_click_model_ctr_falls_with_position() -> None:
    model = ClickModel()
    n, z = 4_000, np.full(10, model.z0 + 0.5)  # the same item quality at every position
    rng = np.random.default_rng(0)
    clicks = np.zeros(10)
    for _ in range(n):
        clicks += model.react(z, rng.random((10, 6))).click
    ctr = clicks / n
    assert ctr[0] > ctr[1] > ctr[3] > ctr[6] > ctr[9], ctr
    expected = model.examination(np.arange(10)) * model.attraction(z)
    assert np.all(np.diff(expected) < 0)
    assert np.allclose(ctr, expected, atol=0.03)


def test_click_model_follows_utility_and_never_reclicks() -> None:
    model = ClickModel()
    rng = np.random.default_rng(1)
    draws = [rng.random((10, 6)) for _ in range(1_000)]
    good = sum(model.react(np.full(10, 4.0), d).click.sum() for d in draws)
    poor = sum(model.react(np.full(10, 1.0), d).click.sum() for d in draws)
    turned_down = sum(model.react(np.full(10, 1.0), d).dismiss.sum() for d in draws)
    assert good > 5 * poor and turned_down > 0
    blocked = [True] * 10
    assert not any(model.react(np.full(10, 6.0), d, blocked).click.any() for d in draws[:200])
    r = model.react(np.full(10, 6.0), draws[0])
    assert not (r.buy & ~r.click).any() and not ((r.stars > 0) & ~r.buy).any()


def test_follow_ups_name_a_clicked_item_among_the_first_five() -> None:
    said = {follow_up(turn_rng(0, 0, 0, t), [1]) for t in range(50)}
    assert "more like the second one" in said and len(said) > 1
    assert all("more like" not in follow_up(turn_rng(0, 0, 0, t), [7]) for t in range(50))


def test_ndcg() -> None:
    assert ndcg_at(["a", "b", "c"], frozenset({"a", "b"})) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], frozenset({"a"})) == pytest.approx(1 / np.log2(3))
    assert ndcg_at(["x"], frozenset()) == 0.0


def test_tally_counts_later_turns_apart() -> None:
    t = Tally(2)
    t.add_turn(0, 1, np.array([1.0, 0.0]), 1, 0.5)
    t.add_turn(0, 2, np.array([0.0, 1.0, 1.0]), 0, 0.25)
    t.add_turn(1, 2, np.zeros(4), 0, 0.0)
    assert t.clicks_all.tolist() == [3, 0] and t.impressions_all.tolist() == [5, 4]
    assert t.clicks_later.tolist() == [2, 0] and t.impressions_later.tolist() == [3, 4]
    assert t.ndcg_later.tolist() == [0.25, 0.0] and t.turns_later.tolist() == [1, 1]
    assert t.position_clicks[:3].tolist() == [1, 1, 1]
    assert t.position_impressions[:4].tolist() == [3, 3, 2, 1]


def test_bootstrap_ratio_is_the_ratio_of_sums() -> None:
    num, den = np.array([1.0, 3.0, 0.0, 4.0]), np.array([10.0, 10.0, 5.0, 15.0])
    e = bootstrap_ratio(num, den, n_boot=2000, seed=1)
    assert e.value == pytest.approx(8 / 40)
    assert e.low < e.value < e.high
    flat = bootstrap_ratio(np.full(5, 2.0), np.full(5, 10.0))
    assert (flat.low, flat.value, flat.high) == pytest.approx((0.2, 0.2, 0.2))


def test_paired_lift_on_constructed_arms() -> None:
    rng = np.random.default_rng(0)
    imps = rng.integers(20, 40, size=300).astype(float)
    clicks = rng.binomial(imps.astype(int), 0.1).astype(float)
    # every shopper clicked exactly twice as often: +100% in every resample
    double = paired_lift((clicks, imps), (2 * clicks, imps), n_boot=500)
    assert (double.value, double.low, double.high) == pytest.approx((1.0, 1.0, 1.0))
    assert double.excludes_zero
    # a shopper-level +20% plus noise: the paired interval is narrower than unpaired ones
    noisy = clicks * 1.2 + rng.normal(0, 0.3, size=300)
    lift = paired_lift((clicks, imps), (noisy, imps), n_boot=2000, seed=2)
    assert lift.value == pytest.approx(noisy.sum() / clicks.sum() - 1)
    assert lift.low < 0.2 < lift.high and lift.excludes_zero
    a = bootstrap_ratio(clicks, imps, n_boot=2000, seed=3)
    b = bootstrap_ratio(noisy, imps, n_boot=2000, seed=4)
    assert lift.high - lift.low < (b.high - b.low) / a.value
    # the same arm twice: no lift, an interval of zero width
    same = paired_lift((clicks, imps), (clicks, imps))
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero
    with pytest.raises(ValueError, match="same users"):
        paired_lift((clicks, imps), (clicks[:-1], imps[:-1]))


@pytest.mark.slow
def test_cli_end_to_end_on_a_tiny_store(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "figures.json"
    argv = ["--sessions-per-arm", "4", "--turns", "2", "--products", "120", "--users", "15",
            "--arms", "none,session", "--no-ope", "--no-train-model", "--bootstrap", "50",
            "--data-dir", str(tmp_path / "data"), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    assert list(figures["arms"]) == ["none", "session"]
    for arm in figures["arms"].values():
        assert arm["sessions"] == 4 and arm["turns"] == 8
        assert 0.0 <= arm["ctr_all"]["low"] <= arm["ctr_all"]["value"] <= arm["ctr_all"]["high"]
    assert "session over none" in figures["lifts"]
    printed = capsys.readouterr().out
    assert "CTR later turns" in printed and "CPUs, load average" in printed
    # the same shoppers again, paired with the first run: the same code gives no lift at all
    again = tmp_path / "again.json"
    assert main([*argv[:-1], str(again), "--compare", str(out)]) == 0
    lifts = json.loads(again.read_text())["lifts"]["session: this run over before"]
    assert all((v["value"], v["low"], v["high"]) in {(0.0, 0.0, 0.0)} or v["value"] != v["value"]
               for v in lifts.values())  # fmt: skip
    assert "none: this run over before" in capsys.readouterr().out


def test_runs_of_other_shoppers_are_not_paired() -> None:
    per = {f: [1.0, 2.0] for f in ("clicks_all", "impressions_all")}
    run = {"config": {"seed": 0}, "arms": {"none": {"per_shopper": per}}}
    with pytest.raises(ValueError, match="seed"):
        compare_runs(run, {**run, "config": {"seed": 1}}, n_boot=10, seed=0)
    old = {"config": {"seed": 0}, "arms": {"none": {}}}
    with pytest.raises(ValueError, match="per-shopper"):
        compare_runs(old, run, n_boot=10, seed=0)


def test_threaded_shoppers_add_up_to_the_same_tally(users: list) -> None:
    """With a pipeline whose answers do not depend on other shoppers, threads change nothing."""
    catalogue = sorted(users[0].position)

    class PerSession(FakePipeline):
        def recommend_sync(self, query: RecommendQuery) -> object:
            start = sum(map(ord, query.user_id + query.message)) % len(self.catalogue)
            ids = [self.catalogue[(start + k) % len(self.catalogue)] for k in range(query.limit)]
            items = tuple(RankedItem(i, i, 1.0) for i in ids)
            sid = query.session_id or f"{query.user_id}:{query.message}"
            return type("Rec", (), {"session_id": sid, "items": items})()

    one = run_arm(PerSession(catalogue), users, SimConfig(seed=5), "one")
    three = run_arm(PerSession(catalogue), users, SimConfig(seed=5, workers=3), "three")
    assert _figures(one) == _figures(three)
    assert (one.sessions, one.turns, one.events) == (three.sessions, three.turns, three.events)
    assert one.position_clicks.tolist() == three.position_clicks.tolist()


def test_repeats_count_items_shown_earlier_in_the_session(users: list) -> None:
    class Same(FakePipeline):  # the same ten items every turn
        def recommend_sync(self, query: RecommendQuery) -> object:
            items = tuple(RankedItem(i, i, 1.0) for i in self.catalogue[:10])
            return type("Rec", (), {"session_id": query.session_id or "s", "items": items})()

    tally = run_arm(Same(sorted(users[0].position)), users, SimConfig(turns=3), "same")
    assert tally.repeats_later.sum() == tally.impressions_later.sum() > 0
