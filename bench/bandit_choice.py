"""Which contextual bandit re-ranks the blend: this package's numpy LinUCB / linear Thompson
sampling (:mod:`models.feedback.bandit`) against Vowpal Wabbit's ``cb_explore_adf`` (the
learner behind the Decision Service), on synthetic slates shaped like the blend's signals.

Two problems, each over ``--rounds`` rounds of a 10-candidate slate whose rows are
:data:`models.feedback.SIGNALS` (blend signals plus context) in blend order; the policy shows
one item and learns its click (a logistic click model the learner does not see):

* ``popularity``: the shopper clicks by the popularity signal alone;
* ``for-whom``: known users click by the model score, new users by popularity.

Printed per learner: the click rate while learning (what the exploration cost), the click
rate of its greedy choice on 1,000 fresh slates (what it learned), and milliseconds per round
(choose + learn), as mean +- sd over ``--seeds`` seeds; the blend's own top item and the
oracle (the click model's best) for scale.

    python -m bench.bandit_choice [--rounds 2000] [--seeds 5]

Vowpal Wabbit runs when ``vowpalwabbit`` is importable (it is not a dependency:
``pip install vowpalwabbit`` into a scratch venv and put this repository on its PYTHONPATH).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from models.feedback import SIGNALS, make_policy

POP, MODEL, KNOWN = SIGNALS.index("popularity"), SIGNALS.index("model"), SIGNALS.index("known_user")
N = 10


def slate(rng: np.random.Generator) -> np.ndarray:
    x = np.zeros((N, len(SIGNALS)))
    x[:, :5] = rng.normal(size=(N, 5)) * [0.5, 0.3, 1.0, 0.2, 0.5]
    x[:, KNOWN] = rng.integers(0, 2)
    x[:, KNOWN + 1] = rng.integers(0, 5) / 4
    return x[np.argsort(-x[:, :5].sum(axis=1), kind="stable")]


def by_popularity(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(3 * x[:, POP] - 1.5)))


def for_whom(x: np.ndarray) -> np.ndarray:
    signal = np.where(x[:, KNOWN] > 0, x[:, MODEL], 3 * x[:, POP])
    return 1 / (1 + np.exp(-(2 * signal - 1)))


PROBLEMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "popularity": by_popularity,
    "for-whom": for_whom,
}


class Learner(Protocol):
    def choose(self, x: np.ndarray, rng: np.random.Generator) -> int: ...
    def learn(self, x: np.ndarray, i: int, reward: float) -> None: ...
    def greedy(self, x: np.ndarray) -> int: ...


class Ours:
    def __init__(self, name: str, seed: int) -> None:
        self.policy = make_policy(name, seed=seed)

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> int:
        return int(self.policy.order(x, explore=True)[0])

    def learn(self, x: np.ndarray, i: int, reward: float) -> None:
        self.policy.update(x[[i]], np.array([reward]))

    def greedy(self, x: np.ndarray) -> int:
        return int(self.policy.order(x, explore=False)[0])


class Vw:
    """``cb_explore_adf``: shared context namespace ``U`` (known, turn), one action line per
    candidate (namespace ``A``: the blend's signals), ``-q UA`` for the interactions."""

    def __init__(self, args: str, seed: int) -> None:
        import vowpalwabbit

        self.vw = vowpalwabbit.Workspace(
            f"--cb_explore_adf {args} -q UA --quiet --random_seed {seed}"
        )
        self.pmf: list[float] = []

    @staticmethod
    def lines(x: np.ndarray, label: tuple[int, float, float] | None = None) -> list[str]:
        shared = f"shared |U known:{x[0, KNOWN]:g} turn:{x[0, KNOWN + 1]:g}"
        out = [shared]
        for i, row in enumerate(x):
            feats = " ".join(f"{name}:{row[j]:.5f}" for j, name in enumerate(SIGNALS[:5]))
            prefix = f"0:{label[1]:g}:{label[2]:g} " if label and label[0] == i else ""
            out.append(f"{prefix}|A {feats}")
        return out

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> int:
        self.pmf = list(self.vw.predict(self.lines(x)))
        p = np.asarray(self.pmf, dtype=np.float64)
        return int(rng.choice(len(p), p=p / p.sum()))

    def learn(self, x: np.ndarray, i: int, reward: float) -> None:
        self.vw.learn(self.lines(x, (i, -reward, self.pmf[i])))

    def greedy(self, x: np.ndarray) -> int:
        return int(np.argmax(self.vw.predict(self.lines(x))))


def run(
    make: Callable[[int], Learner], problem: str, rounds: int, seed: int
) -> tuple[float, float, float]:
    clicks = PROBLEMS[problem]
    learner = make(seed)
    rng = np.random.default_rng(seed)
    total, started = 0.0, time.perf_counter()
    for _ in range(rounds):
        x = slate(rng)
        i = learner.choose(x, rng)
        reward = float(rng.random() < clicks(x)[i])
        learner.learn(x, i, reward)
        total += reward
    ms = (time.perf_counter() - started) * 1000 / rounds
    test = np.random.default_rng(10_000 + seed)
    greedy = float(
        np.mean([clicks(x)[learner.greedy(x)] for x in (slate(test) for _ in range(1000))])
    )
    return total / rounds, greedy, ms


def fixed(
    problem: str, pick: Callable[[np.ndarray, Callable[[np.ndarray], np.ndarray]], int], seeds: int
) -> float:
    clicks = PROBLEMS[problem]
    rates = []
    for seed in range(seeds):
        test = np.random.default_rng(10_000 + seed)
        rates.append(
            np.mean([clicks(x)[pick(x, clicks)] for x in (slate(test) for _ in range(1000))])
        )
    return float(np.mean(rates))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    learners: dict[str, Callable[[int], Learner]] = {
        "linucb (alpha 0.5)": lambda s: Ours("linucb", s),
        "thompson (scale 0.3)": lambda s: Ours("thompson", s),
    }
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        print("vowpalwabbit not installed: its rows are skipped")
    else:
        learners["vw cb_explore_adf --epsilon 0.05"] = lambda s: Vw("--epsilon 0.05", s)
        learners["vw cb_explore_adf --squarecb"] = lambda s: Vw("--squarecb", s)
    for problem in PROBLEMS:
        print(f"\n{problem}: {args.rounds} rounds, {args.seeds} seeds")
        print(
            f"  {'blend top item':36s} greedy CTR {fixed(problem, lambda x, c: 0, args.seeds):.3f}"
        )
        oracle = fixed(problem, lambda x, c: int(np.argmax(c(x))), args.seeds)
        print(f"  {'oracle':36s} greedy CTR {oracle:.3f}")
        for name, make in learners.items():
            runs = np.array([run(make, problem, args.rounds, seed) for seed in range(args.seeds)])
            mean, sd = runs.mean(axis=0), runs.std(axis=0)
            print(
                f"  {name:36s} learning CTR {mean[0]:.3f} +- {sd[0]:.3f}   "
                f"greedy CTR {mean[1]:.3f} +- {sd[1]:.3f}   {mean[2]:.2f} ms/round"
            )


if __name__ == "__main__":
    main()
