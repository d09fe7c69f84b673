"""Off-policy estimators (models/feedback/ope.py) on a synthetic logged problem whose true
click rate for any target policy is known."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
from synthetic_impressions import LOGGING, THETA, LinearPolicy, make_log

from models.feedback.impressions import LoggedTurn, Outcome, logged_turns
from models.feedback.ope import RewardModel, evaluate_policy

TARGET = LinearPolicy(THETA)  # ranks by what users like: a clearly better policy


def test_estimators_cover_the_true_ctr_of_a_different_policy():
    inside = {"ips": 0, "snips": 0, "dr": 0}
    seeds = range(20)
    gaps = []
    for seed in seeds:
        log = make_log(seed, sessions=250)
        truth = log.true_ctr(TARGET)
        report = evaluate_policy(log.turns, TARGET, n_boot=500, seed=seed)
        gaps.append(truth - report.logged.value)
        assert report.unsupported == 0.0
        for name, est in report.estimates.items():
            inside[name] += est.contains(truth)
    # the target is not the logging policy: a naive "logged CTR" answer would be far off
    assert min(gaps) > 0.05
    for name, n in inside.items():
        assert n >= 17, f"{name}: the truth in {n} of 20 intervals"


@pytest.mark.parametrize("shuffled", [False, True])
def test_estimates_are_close_on_a_large_log(shuffled):
    """Also when the logging policy's order is not the candidates' (a re-ranker logged)."""
    log = make_log(99, sessions=2000, shuffled=shuffled)
    truth = log.true_ctr(TARGET)
    report = evaluate_policy(log.turns, TARGET, n_boot=200)
    for est in report.estimates.values():
        assert abs(est.value - truth) < 0.02
        assert est.high - est.low < 0.08


@pytest.mark.parametrize("shuffled", [False, True])
def test_the_logging_policy_itself_is_estimated_by_its_observed_rate(shuffled):
    log = make_log(5, rate=0.0, shuffled=shuffled)
    report = evaluate_policy(log.turns, LinearPolicy(LOGGING), n_boot=200)
    assert report.unsupported == 0.0 and report.matched == 1.0
    assert report.estimates["ips"].value == pytest.approx(report.logged.value)
    assert report.estimates["snips"].value == pytest.approx(report.logged.value)


def test_without_exploration_another_policy_is_unsupported():
    log = make_log(5, rate=0.0)
    report = evaluate_policy(log.turns, TARGET, n_boot=100)
    assert report.unsupported > 0.3
    assert report.matched == pytest.approx(1.0 - report.unsupported)


def test_dr_survives_a_useless_reward_model_and_ips_needs_none():
    log = make_log(11, sessions=1500)
    truth = log.true_ctr(TARGET)
    # a model that cannot learn anything (huge penalty): DR falls back on its IPS correction
    report = evaluate_policy(log.turns, TARGET, n_boot=300, reward_model=RewardModel(l2=1e9))
    assert report.estimates["dr"].contains(truth)


def test_rewards_are_joined_from_outcomes():
    log = make_log(1, sessions=50)
    joined = logged_turns(log.impressions, log.outcomes)
    assert len(joined) == len(log.turns)
    for a, b in zip(joined, log.turns, strict=True):
        assert np.array_equal(a.rewards, b.rewards)
        assert np.array_equal(a.features, b.features)


def test_an_outcome_counts_for_the_latest_earlier_impression_of_its_item():
    log = make_log(2, sessions=1, turns_per_session=2, rate=0.0)
    first, second = log.impressions
    item = first.shown_ids[0]
    # the second turn shows the same item again, at position 2
    second = replace(
        second, candidates=(item, *second.candidates[1:]), shown=(1, 2, 0),
        propensities=(1.0, 1.0, 1.0),
    )  # fmt: skip
    late = Outcome(first.session_id, first.user, item, "click", 0.0, second.ts + 1)
    early = Outcome(first.session_id, first.user, item, "click", 0.0, first.ts + 1)
    other = Outcome("elsewhere", first.user, item, "click", 0.0, second.ts + 1)
    like = Outcome(first.session_id, first.user, item, "like", 0.0, first.ts + 1)
    t1, t2 = logged_turns([first, second], [late, other, like])
    assert t1.rewards.sum() == 0 and t2.rewards.tolist() == [0.0, 0.0, 1.0]
    t1, t2 = logged_turns([first, second], [early])
    assert t1.rewards.tolist() == [1.0, 0.0, 0.0, 0.0] and t2.rewards.sum() == 0


def test_a_target_that_is_not_a_permutation_is_refused():
    class Broken:
        def order(self, features, *, explore):
            return [0, 0, 1]

    log = make_log(3, sessions=2)
    with pytest.raises(ValueError, match="permutation"):
        evaluate_policy(log.turns, Broken())
    empty = replace(log.impressions[0], shown=(), propensities=())
    with pytest.raises(ValueError, match="no logged turn"):
        evaluate_policy([LoggedTurn(empty, log.turns[0].features)], TARGET)


def test_records_are_written_as_their_fields() -> None:
    """Impressions and outcomes are dumped field by field; it must say what ``asdict`` says."""
    log = make_log(1, sessions=5)
    imp, out = log.impressions[0], log.outcomes[0]
    assert imp.to_json() == json.dumps({"kind": "impression", "v": 1, **asdict(imp)})
    assert out.to_json() == json.dumps({"kind": "outcome", "v": 1, **asdict(out)})
