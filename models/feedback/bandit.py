"""Contextual bandits that re-rank a slate by what the shoppers' clicks say: LinUCB and
linear Thompson sampling over the blend's signals (:data:`models.feedback.policy.SIGNALS`).

One linear reward model is shared by every candidate (a "disjoint-arms" model per item would
never see the same item twice often enough). Its input is a row ``x = (s, c)`` of
:func:`~models.feedback.policy.signal_matrix` (``s`` the blend's signals, ``c`` the context:
known user, turn), expanded to

.. math::
    \\phi(x) = (s,\\; s \\cdot c_1,\\; s \\cdot c_2,\\; 1,\\; c_1,\\; c_2)

(with ``interactions=False`` only ``(s, 1, c)``): the interaction terms let it learn which
signal to trust for whom, e.g. the model score for known users, popularity on a first turn.
Ridge regression towards a prior that *is* the blend
(:math:`\\theta_0 = \\text{prior\\_scale}` on each blend signal, 0 elsewhere):

.. math::
    A = \\lambda I + \\sum \\phi\\phi^\\top, \\quad
    b = \\lambda\\theta_0 + \\sum r\\,\\phi, \\quad \\hat\\theta = A^{-1} b

so an untrained bandit ranks like the blend (score = sum of the contributions) and the
clicks move it away from there.

* **LinUCB** (Li et al., WWW 2010, https://arxiv.org/abs/1003.0146): score
  :math:`\\phi^\\top\\hat\\theta + \\alpha\\sqrt{\\phi^\\top A^{-1}\\phi}`.
* **Linear Thompson sampling** (Agrawal & Goyal, ICML 2013,
  https://arxiv.org/abs/1209.3352): score :math:`\\phi^\\top\\tilde\\theta` with
  :math:`\\tilde\\theta \\sim N(\\hat\\theta, v^2 A^{-1})`, one draw per slate.

Exploration is bounded: ``alpha`` is capped at :data:`MAX_ALPHA`, ``v`` at :data:`MAX_SCALE`,
and the server re-ranks only its best ``explore_top`` candidates. ``explore=False`` scores
by :math:`\\phi^\\top\\hat\\theta` alone (deterministic). Ties keep the blend's order. Random
draws come from one ``numpy`` generator seeded at construction, so a run is reproducible.

Why numpy and not a library: the model is a 17 x 17 ridge regression, a few lines, and on
synthetic slates shaped like the blend's (``python -m bench.bandit_choice``, figures in
``bench/RESULTS.md``) these learners reached a higher click rate, both while learning and
greedily afterwards, than Vowpal Wabbit's ``cb_explore_adf`` (the Decision Service's
learner; epsilon-greedy and SquareCB, same features and interactions), at under half its
time per round. VW would also add a compiled dependency, text-format examples per request
and an opaque binary state. ``contextualbandits`` and ``mabwiser`` were not measured: they
keep one model per arm, and arms here would be items, which a catalogue of thousands of
rarely repeated items does not fit (one shared model over the signals does). The state is a
JSON file a person can read, saved next to the model checkpoint and tagged with the model
version (:func:`state_path`, :func:`~models.feedback.registry.open_policy`).

Several processes (the workers of ``kgrec serve --workers N``) learn one policy through that
file: ``A`` and ``b`` are sums over events, so each process keeps the total it last read
(its *base*) and adds its own updates on top; :meth:`LinearBandit.sync` then, under a file
lock, reads the file's total, adds this process's updates since its base, writes the sum and
takes it as the new base. Every update is published exactly once, so after everyone has
synced the file holds what one learner that saw all the events would hold (up to float
rounding). A ``stream`` index gives each process its own random draws.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.startup_cache import file_lock

from .policy import BLEND_SIGNALS, CONTEXT_SIGNALS, SIGNALS, RankingPolicy, check_features

__all__ = [
    "MAX_ALPHA",
    "MAX_SCALE",
    "LinUcbPolicy",
    "LinearBandit",
    "ThompsonPolicy",
    "state_path",
]

log = logging.getLogger(__name__)

MAX_ALPHA = 2.0  # LinUCB's exploration weight is capped here
MAX_SCALE = 1.0  # ... and Thompson sampling's posterior scale
STATE_FORMAT = 1


class LinearBandit(RankingPolicy):
    """The shared ridge model of LinUCB and Thompson sampling (see the module docstring).

    Args:
        ridge: ``lambda``, the prior's strength (default 1.0).
        prior_scale: the prior weight of each blend signal (default 0.05: a blend score of 1
            is a 5 % reward before any click is seen).
        interactions: add the signal x context products (default True).
        seed: the random generator's seed (default 0).
        stream: this process's index among several learning one state (each draws its own
            random numbers; a loaded state's generator is then not restored); ``None``: one.
        model_version: the model this state learned on; :meth:`load` refuses another's.
    """

    def __init__(
        self,
        *,
        ridge: float = 1.0,
        prior_scale: float = 0.05,
        interactions: bool = True,
        seed: int = 0,
        stream: int | None = None,
        model_version: str = "",
    ) -> None:
        if ridge <= 0:
            raise ValueError(f"ridge: must be > 0, got {ridge}")
        self.ridge, self.prior_scale = float(ridge), float(prior_scale)
        self.interactions, self.model_version = interactions, model_version
        self.dim = self.expand(np.zeros((1, len(SIGNALS)))).shape[1]
        self._lock = threading.Lock()
        self.seed, self.stream = seed, stream
        self._rng = self._generator(seed)
        self.reset()

    def _generator(self, entropy: int | tuple[int, ...]) -> np.random.Generator:
        if self.stream is None:
            return np.random.default_rng(entropy)
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(self.stream,)))

    # -- the model ----------------------------------------------------------------------------

    def expand(self, features: np.ndarray) -> np.ndarray:
        """``phi`` of each row: ``float64[n, dim]``."""
        x = check_features(features)
        k = len(BLEND_SIGNALS)
        s, c = x[:, :k], x[:, k:]
        parts = [s]
        if self.interactions:
            parts += [s * c[:, [j]] for j in range(len(CONTEXT_SIGNALS))]
        parts += [np.ones((len(x), 1)), c]
        return np.concatenate(parts, axis=1)

    def prior(self) -> np.ndarray:
        theta0 = np.zeros(self.dim)
        theta0[: len(BLEND_SIGNALS)] = self.prior_scale
        return theta0

    def reset(self) -> None:
        """Forget everything learned (back to the prior)."""
        with self._lock:
            self._a = self.ridge * np.eye(self.dim)
            self._b = self.ridge * self.prior()
            self.n_updates = 0
            self._base = (self._a.copy(), self._b.copy(), 0)  # what the state file held
            self._refresh()

    def _refresh(self) -> None:
        self._a_inv = np.linalg.inv(self._a)
        self._theta = self._a_inv @ self._b

    @property
    def theta(self) -> np.ndarray:
        """The current estimate :math:`\\hat\\theta` (a copy)."""
        with self._lock:
            return self._theta.copy()

    def update(self, features: np.ndarray, rewards: np.ndarray) -> None:
        phi = self.expand(features)
        r = np.asarray(rewards, dtype=np.float64).reshape(-1)
        if len(r) != len(phi):
            raise ValueError(f"rewards: expected {len(phi)} values, got {len(r)}")
        if not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
            raise ValueError("rewards: must lie in [0, 1]")
        if not len(r):
            return
        with self._lock:
            self._a += phi.T @ phi
            self._b += phi.T @ r
            self.n_updates += len(r)
            self._refresh()

    def order(self, features: np.ndarray, *, explore: bool) -> np.ndarray:
        phi = self.expand(features)
        scores = self.scores(phi, explore=explore)
        return np.argsort(-scores, kind="stable").astype(np.int64)

    def scores(self, phi: np.ndarray, *, explore: bool) -> np.ndarray:
        """Each expanded row's score (exploitation alone when ``explore`` is false)."""
        with self._lock:
            return phi @ self._theta

    # -- persistence --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self._lock:
            return self._state_of(self._a, self._b, self.n_updates)

    def _state_of(self, a: np.ndarray, b: np.ndarray, n_updates: int) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "policy": self.name,
            "model_version": self.model_version,
            "signals": list(SIGNALS),
            "interactions": self.interactions,
            "ridge": self.ridge,
            "prior_scale": self.prior_scale,
            "n_updates": n_updates,
            "a": a.tolist(),
            "b": b.tolist(),
            "rng": self._rng.bit_generator.state,
        }

    def save(self, path: str | Path) -> None:
        _write_json(Path(path), self.state())

    def sync(self, path: str | Path) -> None:
        """Add this process's updates since its last sync (or load) to the state at ``path``
        and take the sum (see the module docstring); a missing file counts as the prior, an
        unreadable one as this process's base (it is overwritten, as :meth:`save` would)."""
        path = Path(path)
        with self._lock:
            a, b, n = self._a.copy(), self._b.copy(), self.n_updates
            base_a, base_b, base_n = self._base
        with _locked(path):
            try:
                data = self._checked(path)
                file_a, file_b = np.asarray(data["a"]), np.asarray(data["b"])
                file_n = int(data.get("n_updates", 0))
            except FileNotFoundError:
                file_a, file_b, file_n = self.ridge * np.eye(self.dim), self.ridge * self.prior(), 0
            except (OSError, ValueError, KeyError) as e:
                log.warning("bandit state %s not merged (%s); overwriting it", path, e)
                file_a, file_b, file_n = base_a, base_b, base_n
            total_a, total_b = file_a + (a - base_a), file_b + (b - base_b)
            total_n = file_n + (n - base_n)
            with self._lock:
                state = self._state_of(total_a, total_b, total_n)
            _write_json(path, state)
        with self._lock:  # updates made meanwhile stay on top, for the next sync
            self._a = total_a + (self._a - a)
            self._b = total_b + (self._b - b)
            self.n_updates = total_n + (self.n_updates - n)
            self._base = (total_a, total_b, total_n)
            self._refresh()

    def _checked(self, path: Path) -> dict[str, Any]:
        """The state saved at ``path``, checked to be this policy's (``ValueError`` if not)."""
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        expected = {
            "format": STATE_FORMAT,
            "policy": self.name,
            "signals": list(SIGNALS),
            "interactions": self.interactions,
        }
        if self.model_version:
            expected["model_version"] = self.model_version
        for key, want in expected.items():
            if data.get(key) != want:
                raise ValueError(f"{path}: {key} is {data.get(key)!r}, expected {want!r}")
        a, b = np.asarray(data["a"], dtype=np.float64), np.asarray(data["b"], dtype=np.float64)
        if a.shape != (self.dim, self.dim) or b.shape != (self.dim,):
            raise ValueError(f"{path}: state of shape {a.shape}, expected ({self.dim}, {self.dim})")
        data["a"], data["b"] = a, b
        return data

    def load(self, path: str | Path) -> None:
        data = self._checked(Path(path))
        with self._lock:
            self._a, self._b = data["a"], data["b"]
            self.n_updates = int(data.get("n_updates", 0))
            self._base = (self._a.copy(), self._b.copy(), self.n_updates)
            self.ridge, self.prior_scale = float(data["ridge"]), float(data["prior_scale"])
            self.model_version = str(data.get("model_version", ""))
            if self.stream is not None:  # one of several: its own draws, new ones per start
                self._rng = self._generator((self.seed, self.n_updates))
            elif data.get("rng"):
                self._rng.bit_generator.state = data["rng"]
            self._refresh()


class LinUcbPolicy(LinearBandit):
    """LinUCB: the estimate plus ``alpha`` (capped at :data:`MAX_ALPHA`; default 0.5) times
    its standard error."""

    name = "linucb"

    def __init__(self, *, alpha: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = min(max(float(alpha), 0.0), MAX_ALPHA)

    def scores(self, phi: np.ndarray, *, explore: bool) -> np.ndarray:
        with self._lock:
            mean = phi @ self._theta
            if not explore or self.alpha == 0.0:
                return mean
            width = np.sqrt(np.einsum("ij,jk,ik->i", phi, self._a_inv, phi).clip(min=0.0))
        return mean + self.alpha * width


class ThompsonPolicy(LinearBandit):
    """Linear Thompson sampling: one draw of the weights per slate from the posterior,
    its covariance scaled by ``scale**2`` (``scale`` capped at :data:`MAX_SCALE`; default
    0.3)."""

    name = "thompson"

    def __init__(self, *, scale: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = min(max(float(scale), 0.0), MAX_SCALE)

    def scores(self, phi: np.ndarray, *, explore: bool) -> np.ndarray:
        with self._lock:
            if not explore or self.scale == 0.0:
                return phi @ self._theta
            chol = np.linalg.cholesky((self._a_inv + self._a_inv.T) / 2)
            theta = self._theta + self.scale * chol @ self._rng.standard_normal(self.dim)
        return phi @ theta


def _write_json(path: Path, state: dict[str, Any]) -> None:
    """``state`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def _locked(path: Path) -> contextlib.AbstractContextManager[None]:
    """An exclusive lock (``flock``) on ``path``'s lock file while the block runs."""
    return file_lock(path.with_name(f".{path.name}.lock"))


def state_path(directory: str | Path, policy: str, model_version: str) -> Path:
    """Where ``policy``'s state for ``model_version`` lives: ``directory`` (the model
    checkpoint's folder) / ``bandit-<policy>-<version>.json``; the version is reduced to
    file-name-safe characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_version) or "none"
    return Path(directory) / f"bandit-{policy}-{safe}.json"
