"""The ranking-policy contract and the LinUCB / Thompson bandits on synthetic slates."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from kg.types import Candidate, ProductRecord
from models.feedback import (
    SIGNALS,
    BlendPolicy,
    RankingPolicy,
    make_policy,
    open_policy,
    signal_matrix,
)
from models.feedback.bandit import MAX_ALPHA, LinearBandit, LinUcbPolicy, state_path
from models.scoring.blend import ScoredCandidate

POP = SIGNALS.index("popularity")
LEARNERS = ("linucb", "thompson")


def _slate(rng: np.random.Generator, n: int = 10, known: float | None = None) -> np.ndarray:
    """Random signals, blend-ordered (by their sum), as :func:`signal_matrix` would give."""
    x = np.zeros((n, len(SIGNALS)))
    x[:, :5] = rng.normal(size=(n, 5)) * [0.5, 0.3, 1.0, 0.2, 0.5]
    x[:, 5] = rng.integers(0, 2) if known is None else known
    x[:, 6] = rng.integers(0, 5) / 4
    return x[np.argsort(-x[:, :5].sum(axis=1), kind="stable")]


def _click_prob(x: np.ndarray) -> np.ndarray:
    """Shoppers click by popularity alone, whatever the blend's other signals say."""
    return 1 / (1 + np.exp(-(3 * x[:, POP] - 1.5)))


def _train(policy: RankingPolicy, rounds: int, seed: int = 1, k: int = 3) -> None:
    """Show the policy's top ``k`` per round (exploring); clicks by :func:`_click_prob`."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        x = _slate(rng)
        shown = x[policy.order(x, explore=True)[:k]]
        policy.update(shown, (rng.random(k) < _click_prob(shown)).astype(float))


def _ctr(order_of, seed: int = 99, rounds: int = 500, k: int = 3) -> float:
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(rounds):
        x = _slate(rng)
        total += float(_click_prob(x[order_of(x)[:k]]).mean())
    return total / rounds


def test_signal_matrix_reads_contributions_and_context() -> None:
    cand = Candidate(ProductRecord(id="a", title="A"))
    scored = [
        ScoredCandidate(cand, 1.0, {"match": 0.5, "popularity": 0.2}),
        ScoredCandidate(cand, 0.0, {"model": -1.0, "feedback": -0.5, "price": 4.0}),
    ]
    x = signal_matrix(scored, known_user=True, turn=3)
    assert x.shape == (2, len(SIGNALS))
    assert x[0].tolist() == [0.5, 0.2, 0.0, 0.0, 0.0, 1.0, 0.5]
    assert x[1].tolist() == [0.0, 0.0, -1.0, -0.5, 4.0, 1.0, 0.5]
    assert signal_matrix(scored, turn=1)[:, 5:].tolist() == [[0.0, 0.0]] * 2
    assert signal_matrix(scored, turn=40)[0, 6] == 1.0
    assert signal_matrix([]).shape == (0, len(SIGNALS))


@pytest.mark.parametrize("name", ["off", *LEARNERS])
def test_order_is_a_permutation(name: str) -> None:
    policy = make_policy(name)
    x = _slate(np.random.default_rng(0), n=13)
    for explore in (True, False):
        order = policy.order(x, explore=explore)
        assert sorted(order.tolist()) == list(range(13))
    assert policy.order(np.zeros((0, len(SIGNALS))), explore=True).tolist() == []
    with pytest.raises(ValueError, match="shape"):
        policy.order(np.zeros((3, 2)), explore=False)


def test_off_keeps_the_blend_order() -> None:
    x = _slate(np.random.default_rng(0), n=9)[::-1]  # any order: "off" never moves it
    policy = BlendPolicy()
    policy.update(x, np.ones(len(x)))
    assert policy.order(x, explore=True).tolist() == list(range(9))


def test_an_untrained_bandit_ranks_like_the_blend() -> None:
    x = _slate(np.random.default_rng(3), n=12)
    for name in LEARNERS:
        assert make_policy(name).order(x, explore=False).tolist() == list(range(12))


def test_unknown_policy_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="linucb, off, thompson"):
        make_policy("greedy")


def test_registry_matches_the_settings() -> None:
    from models.feedback import POLICIES
    from server.settings import RERANK_POLICIES

    assert set(POLICIES) == set(RERANK_POLICIES)


@pytest.mark.parametrize("name", LEARNERS)
def test_bandit_learns_the_signal_that_predicts_clicks(name: str) -> None:
    policy = make_policy(name, seed=7)
    assert isinstance(policy, LinearBandit)
    _train(policy, 2000)
    blend = _ctr(lambda x: np.arange(len(x)))
    learned = _ctr(lambda x: policy.order(x, explore=False))
    oracle = _ctr(lambda x: np.argsort(-x[:, POP]))
    assert learned > blend + 0.05, (learned, blend)
    assert learned > oracle - 0.02, (learned, oracle)
    theta = policy.theta
    assert theta[POP] > 5 * max(abs(theta[j]) for j in range(5) if j != POP)


def test_interactions_learn_which_signal_to_trust_for_whom() -> None:
    """Known users click by the model score, new ones by popularity: one policy serves both."""
    model = SIGNALS.index("model")

    def clicks(x: np.ndarray) -> np.ndarray:
        signal = np.where(x[:, 5] > 0, x[:, model], 3 * x[:, POP])
        return 1 / (1 + np.exp(-(2 * signal - 1)))

    policy = make_policy("linucb", seed=1)
    rng = np.random.default_rng(2)
    for _ in range(2000):
        x = _slate(rng)
        shown = x[policy.order(x, explore=True)[:3]]
        policy.update(shown, (rng.random(3) < clicks(shown)).astype(float))
    for known, best in ((1.0, model), (0.0, POP)):
        x = _slate(np.random.default_rng(5), n=30, known=known)
        top = policy.order(x, explore=False)[:5]
        assert set(top) == set(np.argsort(-x[:, best])[:5].tolist()), known


@pytest.mark.parametrize("name", LEARNERS)
def test_pure_exploitation_is_deterministic_and_seeds_repeat(name: str) -> None:
    a, b = make_policy(name, seed=3), make_policy(name, seed=3)
    _train(a, 200)
    _train(b, 200)
    x = _slate(np.random.default_rng(11), n=20)
    assert a.order(x, explore=False).tolist() == a.order(x, explore=False).tolist()
    assert a.order(x, explore=True).tolist() == b.order(x, explore=True).tolist()
    assert np.array_equal(a.theta, b.theta)  # type: ignore[attr-defined]


def test_exploration_is_capped() -> None:
    assert LinUcbPolicy(alpha=100.0).alpha == MAX_ALPHA
    assert make_policy("thompson", scale=50.0).scale == 1.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", LEARNERS)
def test_save_load_round_trip_gives_identical_orders(name: str, tmp_path: Path) -> None:
    a = make_policy(name, seed=4, model_version="m1")
    _train(a, 300)
    path = state_path(tmp_path, name, "m1")
    a.save(path)
    b = make_policy(name, seed=999, model_version="m1")
    b.load(path)
    rng = np.random.default_rng(8)
    for _ in range(5):
        x = _slate(rng, n=15)
        assert a.order(x, explore=False).tolist() == b.order(x, explore=False).tolist()
        assert a.order(x, explore=True).tolist() == b.order(x, explore=True).tolist()


def test_state_is_versioned_with_the_model(tmp_path: Path) -> None:
    trained = open_policy("linucb", tmp_path, "v1")
    _train(trained, 300)
    trained.save(state_path(tmp_path, "linucb", "v1"))
    x = _slate(np.random.default_rng(6), n=15)
    again = open_policy("linucb", tmp_path, "v1")
    assert again.n_updates == 900  # type: ignore[attr-defined]
    assert again.order(x, explore=False).tolist() == trained.order(x, explore=False).tolist()
    swapped = open_policy("linucb", tmp_path, "v2")  # another model: a fresh bandit
    assert swapped.n_updates == 0  # type: ignore[attr-defined]
    assert swapped.order(x, explore=False).tolist() == list(range(15))
    with pytest.raises(ValueError, match="model_version"):
        make_policy("linucb", model_version="v2").load(state_path(tmp_path, "linucb", "v1"))
    with pytest.raises(ValueError, match="policy"):
        make_policy("thompson", model_version="v1").load(state_path(tmp_path, "linucb", "v1"))
    state_path(tmp_path, "linucb", "v3").write_text("{not json")
    assert open_policy("linucb", tmp_path, "v3").n_updates == 0  # type: ignore[attr-defined]


def test_state_path_keeps_versions_apart(tmp_path: Path) -> None:
    assert state_path(tmp_path, "linucb", "gnn/v1:abc").parent == tmp_path
    assert state_path(tmp_path, "linucb", "a") != state_path(tmp_path, "linucb", "b")


def test_update_rejects_bad_rewards() -> None:
    policy = make_policy("linucb")
    x = _slate(np.random.default_rng(0), n=3)
    with pytest.raises(ValueError, match="3 values"):
        policy.update(x, np.ones(2))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        policy.update(x, np.array([0.0, 2.0, 1.0]))


def test_concurrent_updates_are_all_counted() -> None:
    policy = make_policy("thompson", seed=0)
    x = _slate(np.random.default_rng(0), n=4)

    def work() -> None:
        for _ in range(200):
            policy.update(x, np.array([1.0, 0.0, 0.0, 1.0]))
            policy.order(x, explore=True)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serial = make_policy("thompson", seed=0)
    for _ in range(800):
        serial.update(x, np.array([1.0, 0.0, 0.0, 1.0]))
    assert policy.n_updates == 3200  # type: ignore[attr-defined]
    assert np.allclose(policy.theta, serial.theta)  # type: ignore[attr-defined]
