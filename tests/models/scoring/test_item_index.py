"""Item search (exact and FAISS), the running moments, and the GNN turn as one inner product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.scoring.gnn_search import GnnSearch
from models.scoring.item_index import (
    ExactIndex,
    FaissIvfIndex,
    index_kind,
    ivf_lists,
    nprobe_for,
    open_index,
)
from models.scoring.turn_scores import ItemStats

pytest.importorskip("faiss")


def _clustered(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), d))
    m = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, d))
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / max(x.std(ddof=1), 1e-6)


def test_exact_index_returns_the_best_rows_best_first() -> None:
    m = _clustered(500)
    q = m[7] + m[9]
    rows, scores = ExactIndex(m).search(q, 10)
    want = np.argsort(-(m @ q), kind="stable")[:10]
    assert rows.tolist() == want.tolist()
    assert np.allclose(scores, (m @ q)[want])


def test_faiss_index_finds_nearly_all_of_the_exact_top_100() -> None:
    m = _clustered(5000)
    exact, ivf = ExactIndex(m), FaissIvfIndex(m)
    rng = np.random.default_rng(1)
    recall = []
    for _ in range(20):
        q = m[rng.integers(0, len(m), 3)].mean(0)
        want = set(exact.search(q, 100)[0].tolist())
        recall.append(len(want & set(ivf.search(q, 100)[0].tolist())) / 100)
    assert np.mean(recall) >= 0.95


@pytest.mark.parametrize("make", [ExactIndex, FaissIvfIndex])
def test_set_row_replaces_and_appends(make: type) -> None:
    m = _clustered(400)
    index = make(m)
    target = -m[0]  # far from everything near m[0]
    index.set_row(3, target)
    assert index.search(target, 1)[0].tolist() == [3]
    index.set_row(len(m), -m[1])
    assert len(index) == len(m) + 1
    assert index.search(-m[1], 1)[0].tolist() == [len(m)]


def test_faiss_index_round_trips_through_a_file(tmp_path: Path) -> None:
    m = _clustered(1000)
    index = FaissIvfIndex(m)
    index.write(tmp_path / "i.faiss")
    again = FaissIvfIndex.read(tmp_path / "i.faiss")
    q = m[5]
    assert len(again) == len(m)
    assert again.search(q, 20)[0].tolist() == index.search(q, 20)[0].tolist()


def test_index_kind_switches_at_the_threshold_and_names_the_valid_kinds() -> None:
    assert index_kind(10, "auto", min_items=100) == "exact"
    assert index_kind(100, "auto", min_items=100) == "faiss"
    assert index_kind(10, "faiss") == "faiss"
    assert isinstance(open_index(_clustered(50), "auto", min_items=100), ExactIndex)
    with pytest.raises(ValueError, match="auto, exact, faiss"):
        index_kind(10, "hnsw")


def test_lists_and_probes_grow_with_the_catalogue() -> None:
    assert ivf_lists(10) == 1 and ivf_lists(1_000_000) == 4000
    assert nprobe_for(1) == 1 and nprobe_for(256) == 32 and nprobe_for(4000) == 66


def test_item_stats_follow_replaced_and_added_rows() -> None:
    m = _clustered(300).astype(np.float64)
    stats = ItemStats(m)
    new = np.ones(m.shape[1])
    stats.replace(m[4].copy(), new)
    m[4] = new
    extra = np.arange(m.shape[1], dtype=np.float64) / 10
    stats.replace(None, extra)
    m = np.vstack([m, extra])
    v = np.random.default_rng(2).standard_normal(m.shape[1])
    mean, std = stats.mean_std(v)
    assert mean == pytest.approx((m @ v).mean())
    assert std == pytest.approx((m @ v).std(ddof=1))


@pytest.mark.parametrize("normalized", [True, False])
def test_gnn_turn_is_the_sum_of_z_scored_terms(normalized: bool) -> None:
    rng = np.random.default_rng(3)
    items = _clustered(300) if normalized else rng.standard_normal((300, 16)).astype(np.float32)
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    user, session, profile = (rng.standard_normal(16).astype(np.float32) for _ in range(3))
    want = _z(items @ user) + _z(unit @ session) + _z(unit @ profile)

    class Catalog:
        item_ids = [f"i{n}" for n in range(300)]

        def index_of(self, item_id: str) -> int | None:
            return int(item_id[1:]) if item_id in self.item_ids else None

        def rows_of(self, item_ids: list[str]) -> np.ndarray:
            return np.array([-1 if (r := self.index_of(i)) is None else r for i in item_ids])

        def seen_item_ids(self, user_id: str | None) -> list[str]:
            return ["i0"] if user_id else []

    search = GnnSearch(items, normalized=normalized)
    turn = search.linear(Catalog(), user, session, profile)  # type: ignore[arg-type]
    assert turn is not None
    ids = Catalog.item_ids
    assert np.allclose(turn.for_items([*ids, "nope"])[:-1], want, atol=1e-4)
    assert turn.for_items(["nope", "i1"])[0] < turn.for_items(["i1"])[0]
    best = turn.best(5, exclude_item_ids=["i2"], user_id="u")
    order = [f"i{n}" for n in np.argsort(-want, kind="stable") if n not in (0, 2)][:5]
    assert [i for i, _ in best] == order
    assert search.linear(Catalog(), None, None, None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("normalized", [True, False])
def test_similar_rows_by_search_match_the_exact_cosines(normalized: bool) -> None:
    rng = np.random.default_rng(4)
    items = rng.standard_normal((400, 16)).astype(np.float32)
    items[10] = items[3] * 2.0 + 0.01  # a near-duplicate of row 3, at another scale
    items[11] = items[3] + 0.3 * rng.standard_normal(16).astype(np.float32)
    if normalized:
        items /= np.linalg.norm(items, axis=1, keepdims=True)
    unit = items / np.linalg.norm(items, axis=1, keepdims=True)
    cos = unit @ unit[3]
    cos[3] = -2
    want = [int(i) for i in np.argsort(-cos, kind="stable") if cos[i] >= 0.8]
    assert want[:1] == [10]
    assert GnnSearch(items, normalized=normalized).similar([3], 0.8) == want
