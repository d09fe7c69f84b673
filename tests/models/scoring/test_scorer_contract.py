"""The scoring contract, run against every registered scorer (RecBole's model-auto test, for
the serving side): shapes, unknown items, add_item, save/load, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.errors import ConfigError
from models.data import RecDataset
from models.scoring import SCORERS, ItemScorer, ScoringContext, load_scorer, scorer_class
from models.scoring.dynamic_batcher import BATCH_STATS
from models.scoring.turn_scores import LinearScores, TensorScores
from models.training import train
from tests.models.conftest import tiny_config
from tests.models.scoring.scorer_factories import CONTEXTS, FACTORIES, NEW_ITEM

pytestmark = pytest.mark.slow  # trains a tiny GNN and loads MiniLM: ~20 s

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def workdir(
    tiny_dataset: RecDataset, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("contract")
    path = train(tiny_dataset, tiny_config(cache_dir), out / "runs", progress=False)
    path.rename(out / "gnn")
    return out


@pytest.fixture(params=sorted(SCORERS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


_BUILT: dict[str, Path] = {}


def _build(kind: str, workdir: Path) -> ItemScorer:
    """A fresh copy of the kind's fixture scorer (built once, then re-read from its save)."""
    assert kind in FACTORIES, f"registered scorer {kind!r} has no factory in the contract suite"
    if kind not in _BUILT:
        scorer = FACTORIES[kind](workdir)
        assert isinstance(scorer, scorer_class(kind)) and scorer.kind == kind
        _BUILT[kind] = scorer.save(workdir / f"built-{kind}")
        return scorer
    return load_scorer(_BUILT[kind])


def test_a_loaded_gnn_scorer_interns_its_item_ids(workdir: Path) -> None:
    """As the filter snapshot does (tests/kg/test_filter_index.py): rows found by identity."""
    import sys

    scorer = _build("gnn", workdir)
    assert all(i is sys.intern("".join(list(i))) for i in scorer.item_ids)  # a new equal str


def _all_scores(scorer: ItemScorer) -> list[np.ndarray]:
    return [scorer.catalog_scores(ScoringContext(**ctx)) for ctx in CONTEXTS.values()]


def test_catalog_scores_are_one_finite_float32_per_item(kind: str, workdir: Path) -> None:
    scorer = _build(kind, workdir)
    assert scorer.version and len(scorer.item_ids) == len(set(scorer.item_ids)) > 0
    for name, ctx in CONTEXTS.items():
        s = scorer.catalog_scores(ScoringContext(**ctx))
        assert s.dtype == np.float32 and s.shape == (len(scorer.item_ids),), name
        assert np.isfinite(s).all(), name
        # the same context answers the same (no state kept from one call to the next)
        np.testing.assert_array_equal(scorer.catalog_scores(ScoringContext(**ctx)), s)


def test_unknown_items_score_below_every_known_item(kind: str, workdir: Path) -> None:
    scorer = _build(kind, workdir)
    s = scorer.catalog_scores(ScoringContext())
    known = list(scorer.item_ids[:3])
    picked = scorer.scores_for(["nope:1", *known, "nope:2"], s)
    assert picked.dtype == np.float32 and picked.shape == (5,)
    assert picked[0] == picked[-1] < s.min()
    np.testing.assert_array_equal(picked[1:4], s[:3])


def test_top_k_leaves_out_exactly_what_it_is_told(kind: str, workdir: Path) -> None:
    scorer = _build(kind, workdir)
    s = scorer.catalog_scores(ScoringContext(text="something"))
    first, second = scorer.item_ids[0], scorer.item_ids[1]
    top = scorer.top_k(s, len(scorer.item_ids), exclude_item_ids=[first, "nope"])
    ids = [i for i, _ in top]
    assert first not in ids and second in ids and len(ids) == len(scorer.item_ids) - 1
    values = [v for _, v in top]
    assert values == sorted(values, reverse=True)
    assert scorer.top_k(s, 0) == []


def test_add_item_puts_a_new_item_in_the_catalog(kind: str, workdir: Path) -> None:
    scorer = _build(kind, workdir)
    n = len(scorer.item_ids)
    scorer.add_item(NEW_ITEM)
    assert list(scorer.item_ids)[-1] == NEW_ITEM.item_id and len(scorer.item_ids) == n + 1
    for s in _all_scores(scorer):
        assert s.shape == (n + 1,) and np.isfinite(s).all()
    # added again: replaced, not duplicated
    scorer.add_item(NEW_ITEM)
    assert len(scorer.item_ids) == n + 1


def test_save_load_round_trip_gives_identical_scores(
    kind: str, workdir: Path, tmp_path: Path
) -> None:
    scorer = _build(kind, workdir)
    scorer.add_item(NEW_ITEM)  # what was added since training is saved too
    saved = scorer.save(tmp_path / "model")
    again = load_scorer(saved)
    assert type(again) is type(scorer) and again.version == scorer.version
    assert list(again.item_ids) == list(scorer.item_ids)
    for before, after in zip(_all_scores(scorer), _all_scores(again), strict=True):
        np.testing.assert_array_equal(after, before)


def test_scores_do_not_depend_on_the_string_hash_seed(kind: str, workdir: Path) -> None:
    """Built (fitted, for scorers that fit at construction) in two processes whose string
    hashing differs: the same scores to the printed digit."""
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "tests.models.scoring.scorer_factories", kind, str(workdir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == len(CONTEXTS)


def test_registry_names_the_valid_scorers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="valid: comention, gnn"):
        scorer_class("nope")
    (tmp_path / "meta.json").write_text('{"kind": "nope"}')
    with pytest.raises(ConfigError, match="unknown scorer 'nope'"):
        load_scorer(tmp_path)
    with pytest.raises(ConfigError, match="cannot read model"):
        load_scorer(tmp_path / "missing")


@pytest.mark.parametrize("item_index", ["auto", "faiss"])
def test_turn_scores_agree_with_the_catalog_vector(
    kind: str, workdir: Path, item_index: str
) -> None:
    """What a turn reads (:meth:`ItemScorer.turn_scores`) is the catalog vector's scores and
    top items, also when a scorer answers by inner-product search (``item_index`` ``faiss``:
    on a catalog this small every inverted list is probed, so the search is exact)."""
    pytest.importorskip("faiss")
    scorer = _build(kind, workdir)
    scorer.configure(item_index=item_index)
    ids, searched = list(scorer.item_ids), 0
    for ctx in map(lambda c: ScoringContext(**c), CONTEXTS.values()):
        full, turn = scorer.catalog_scores(ctx), scorer.turn_scores(ctx)
        searched += isinstance(turn, LinearScores)
        np.testing.assert_allclose(turn.for_items(ids), full, atol=1e-4)
        best = turn.best(5, exclude_item_ids=ids[:2], user_id=ctx.user_id)
        want = scorer.top_k(full, 5, exclude_item_ids=ids[:2], user_id=ctx.user_id)
        assert not {i for i, _ in best} & set(ids[:2])
        np.testing.assert_allclose([s for _, s in best], [s for _, s in want], atol=1e-4)
    # the GNN scorer answers by search when told to (popularity, with no signal, it does not)
    assert (
        (searched >= len(CONTEXTS) // 2) if (kind, item_index) == ("gnn", "faiss") else not searched
    )


def test_turns_scored_in_batches_answer_as_each_alone(kind: str, workdir: Path) -> None:
    """``score_batching`` on: concurrent turns are scored together (the GNN scorer: one
    product per batch, :mod:`models.scoring.gnn_batch`), and each reads what its own catalog
    vector says; a scorer with nothing to batch ignores the option."""
    from concurrent.futures import ThreadPoolExecutor

    scorer = _build(kind, workdir)
    scorer.configure(score_batching="on")
    contexts = [ScoringContext(**c) for c in CONTEXTS.values()] * 4
    ids = list(scorer.item_ids)
    before = BATCH_STATS.snapshot()
    with ThreadPoolExecutor(8) as pool:
        turns = list(pool.map(scorer.turn_scores, contexts))
    for ctx, turn in zip(contexts, turns, strict=True):
        full = scorer.catalog_scores(ctx)
        np.testing.assert_allclose(turn.for_items(ids), full, atol=1e-4)
        best = turn.best(5, exclude_item_ids=ids[:2], user_id=ctx.user_id)
        want = scorer.top_k(full, 5, exclude_item_ids=ids[:2], user_id=ctx.user_id)
        np.testing.assert_allclose([s for _, s in best], [s for _, s in want], atol=1e-4)
    batched = BATCH_STATS.snapshot()[1] - before[1]
    assert batched == (len(contexts) if kind == "gnn" else 0)
    if kind == "gnn":  # every context in one batch, as when they all queue behind a leader
        alone = [scorer.catalog_scores(c) for c in contexts]
        together = scorer._batch_catalogue(contexts)  # type: ignore[attr-defined]
        for a, t in zip(alone, together, strict=True):
            np.testing.assert_allclose(t.numpy(), a, atol=1e-5)
        with pytest.raises(ValueError, match="score_batching 'yes' is not one of auto, on"):
            scorer.configure(score_batching="yes")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")
def test_the_gnn_scorer_on_cuda_scores_as_on_cpu(workdir: Path) -> None:
    """On a GPU (``device`` auto or cuda) turns are batched by default and score as on CPU."""
    cpu = _build("gnn", workdir)
    cuda = _build("gnn", workdir)
    cpu.configure(device="cpu", score_batching="off")
    cuda.configure(device="cuda")
    ids = list(cpu.item_ids)
    for ctx in map(lambda c: ScoringContext(**c), CONTEXTS.values()):
        turn = cuda.turn_scores(ctx)
        assert isinstance(turn, TensorScores) and turn.scores.is_cuda
        np.testing.assert_allclose(turn.for_items(ids), cpu.catalog_scores(ctx), atol=1e-4)


def test_a_batch_runs_its_new_messages_through_minilm_in_one_forward(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GNN scorer's batch encodes the messages its cache lacks in one pass; each turn's
    own read of its message then hits the cache (no forward per turn)."""
    scorer = _build("gnn", workdir)
    assert "text" in scorer.checkpoint.feature_dims  # type: ignore[attr-defined]
    encoder = scorer._encoders.text()  # type: ignore[attr-defined]
    forwards: list[list[str]] = []
    forward = encoder._forward
    monkeypatch.setattr(
        encoder, "_forward", lambda texts, dtype: forwards.append(texts) or forward(texts, dtype)
    )
    texts = [f"a new message number {n}" for n in range(3)]
    contexts = [ScoringContext(text=t) for t in texts] + [ScoringContext(user_id="user:1")]
    together = scorer._batch_catalogue(contexts)  # type: ignore[attr-defined]
    assert forwards == [sorted(texts, key=len)]
    for ctx, scores in zip(contexts, together, strict=True):  # one turn alone: cached message
        np.testing.assert_allclose(scores.numpy(), scorer.catalog_scores(ctx), atol=1e-5)
    assert len(forwards) == 1


def test_with_batching_on_auto_is_exact_and_faiss_still_searches(workdir: Path) -> None:
    """Score batching scores every item on its device: past the index's catalogue size
    ``item_index`` ``auto`` then builds no FAISS index (not for turns, not for near-duplicates:
    on a GPU both are one product); ``faiss`` still answers by search."""
    pytest.importorskip("faiss")
    scorer = _build("gnn", workdir)
    scorer.ann_min_items = 1  # type: ignore[attr-defined]  # every catalogue is "large"
    scorer.configure(score_batching="on")
    first = ScoringContext(liked_item_ids=(scorer.item_ids[0],))
    assert isinstance(scorer.turn_scores(first), TensorScores)
    scorer.similar_items(list(scorer.item_ids[:1]), 0.5)
    assert scorer._search is None  # type: ignore[attr-defined]
    scorer.configure(item_index="faiss")
    assert isinstance(scorer.turn_scores(first), LinearScores)
    assert scorer._search is not None  # type: ignore[attr-defined]
