"""Dynamic batching: concurrent requests run as one batch, each thread gets its own answer,
a failure reaches every thread of its batch, and a device's turn scores keep the contract."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
import torch

from kgrec.errors import ConfigError
from models.scoring.dynamic_batcher import BATCH_STATS, DynamicBatcher
from models.scoring.turn_scores import TensorScores, VectorScores
from models.training.device import resolve_device


class Gated:
    """A batch function that records its batches and holds the first until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()

    def __call__(self, requests: Sequence[int]) -> list[int]:
        self.batches.append(list(requests))
        if len(self.batches) == 1:
            assert self.release.wait(10)
        if any(r < 0 for r in requests):
            raise ValueError(f"negative in {list(requests)}")
        return [r * 10 for r in requests]


def _submit_all(batcher: DynamicBatcher[int, int], requests: list[int]) -> dict[int, object]:
    """Submit ``requests[0]`` first and the rest while its batch runs; each thread's answer
    (or exception) by request."""
    out: dict[int, object] = {}

    def one(r: int) -> None:
        try:
            out[r] = batcher.submit(r)
        except ValueError as e:
            out[r] = e

    first = threading.Thread(target=one, args=(requests[0],))
    first.start()
    while not batcher._run.batches:  # type: ignore[attr-defined]  # the leader is running
        time.sleep(0.001)
    rest = [threading.Thread(target=one, args=(r,)) for r in requests[1:]]
    for t in rest:
        t.start()
    while batcher.pending < len(rest):
        time.sleep(0.001)
    batcher._run.release.set()  # type: ignore[attr-defined]
    for t in (first, *rest):
        t.join(10)
    return out


def test_requests_that_arrive_while_a_batch_runs_form_the_next_batch() -> None:
    run = Gated()
    before = BATCH_STATS.snapshot()
    out = _submit_all(DynamicBatcher(run), [1, 2, 3, 4])
    assert out == {1: 10, 2: 20, 3: 30, 4: 40}
    assert run.batches[0] == [1] and sorted(run.batches[1]) == [2, 3, 4]
    after = BATCH_STATS.snapshot()
    assert (after[0] - before[0], after[1] - before[1]) == (2, 4)


def test_max_batch_splits_a_long_queue_and_every_request_is_answered() -> None:
    run = Gated()
    out = _submit_all(DynamicBatcher(run, max_batch=2), [1, 2, 3, 4, 5])
    assert out == {r: r * 10 for r in range(1, 6)}
    assert [len(b) for b in run.batches] == [1, 2, 2]


def test_a_failing_batch_raises_in_each_of_its_threads_and_the_next_batch_runs() -> None:
    run = Gated()
    batcher = DynamicBatcher(run)
    out = _submit_all(batcher, [1, 2, -3])
    assert out[1] == 10
    assert isinstance(out[2], ValueError) and out[2] is out[-3]
    assert batcher.submit(5) == 50  # not stuck


def test_a_lone_request_runs_at_once_and_max_batch_must_be_positive() -> None:
    assert DynamicBatcher(lambda rs: [r + 1 for r in rs]).submit(1) == 2
    with pytest.raises(ValueError, match="max_batch"):
        DynamicBatcher(lambda rs: rs, max_batch=0)


class Catalog:
    """The :class:`models.scoring.turn_scores.Catalog` of a 50-item scorer (user u has seen
    items 3 and 4)."""

    item_ids = [f"i{n}" for n in range(50)]
    _index = {i: n for n, i in enumerate(item_ids)}

    def index_of(self, item_id: str) -> int | None:
        return self._index.get(item_id)

    def rows_of(self, item_ids: Sequence[str]) -> np.ndarray:
        return np.array([self._index.get(i, -1) for i in item_ids], dtype=np.int64)

    def seen_item_ids(self, user_id: str | None) -> Sequence[str]:
        return ["i3", "i4"] if user_id == "u" else []

    def scores_for(self, item_ids: Sequence[str], scores: np.ndarray) -> np.ndarray:
        from models.scoring.item_scorer import ItemScorer

        return ItemScorer.scores_for(self, item_ids, scores)  # type: ignore[arg-type]

    def top_k(self, scores, k, *, exclude_item_ids=(), user_id=None):  # type: ignore[no-untyped-def]
        from models.scoring.item_scorer import ItemScorer

        return ItemScorer.top_k(self, scores, k, exclude_item_ids=exclude_item_ids, user_id=user_id)  # type: ignore[arg-type]

    def _positions(self) -> dict[str, int]:
        return self._index


@pytest.mark.parametrize("ties", [False, True])
def test_tensor_scores_keep_the_contract_of_the_vector_scores(ties: bool) -> None:
    """The best items best first, ties by catalog order (also at the cut, where
    ``argpartition`` may pick either of two tied rows: there the vector's scores are
    compared, not its ids), without the excluded and seen items; unknown ids min - 1."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=50).astype(np.float32)
    if ties:
        scores = np.round(scores).astype(np.float32)  # many equal scores
    catalog = Catalog()
    vector, tensor = VectorScores(catalog, scores), TensorScores(catalog, torch.from_numpy(scores))
    for k, exclude, user in ((5, (), None), (10, ("i0", "i7", "nope"), "u"), (60, ("i1",), "u")):
        got = tensor.best(k, exclude_item_ids=exclude, user_id=user)
        drop = {*exclude, *catalog.seen_item_ids(user)}
        order = sorted(range(50), key=lambda r: (-scores[r], r))
        want = [(f"i{r}", float(scores[r])) for r in order if f"i{r}" not in drop][:k]
        assert got == want
        assert [v for _, v in got] == [
            v for _, v in vector.best(k, exclude_item_ids=exclude, user_id=user)
        ]
    ids = ["nope", "i2", "i49", "other"]
    np.testing.assert_array_equal(tensor.for_items(ids), vector.for_items(ids))
    assert tensor.best(0) == [] and tensor.best(50, exclude_item_ids=Catalog.item_ids) == []


def test_asking_for_cuda_without_one_says_so() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")
