"""Train a tiny model end to end, save/load the checkpoint, score, add a product."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kgrec.errors import ConfigError
from models.data import RecDataset
from models.scoring import NewItem, Scorer, ScoringContext, latest_checkpoint
from models.training import Checkpoint, evaluate_checkpoint, train, train_model
from models.training.item_item import ItemItem, blended_scores
from tests.models.conftest import png_bytes, tiny_config

pytestmark = pytest.mark.slow  # trains small models: ~10 s on an idle 2-core box


def _score(scorer: Scorer, item_ids: list[str], **ctx: object) -> np.ndarray:
    return scorer.scores_for(item_ids, scorer.catalog_scores(ScoringContext(**ctx)))  # type: ignore[arg-type]


def _nearest(scorer: Scorer, k: int, **ctx: object) -> list[tuple[str, float]]:
    """The pipeline's widening: the best ``k`` without the context's liked / disliked items."""
    context = ScoringContext(**ctx)  # type: ignore[arg-type]
    hidden = (*context.liked_item_ids, *context.disliked_item_ids)
    return scorer.top_k(
        scorer.catalog_scores(context), k, exclude_item_ids=hidden, user_id=context.user_id
    )


@pytest.fixture(scope="module")
def trained(
    tiny_dataset: RecDataset, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("models")
    return train(tiny_dataset, tiny_config(cache_dir), out, progress=False)


def test_checkpoint_round_trip(trained: Path, tiny_dataset: RecDataset) -> None:
    meta = json.loads((trained / "meta.json").read_text())
    assert meta["version"].startswith("kgrec-lightgcn-")
    assert meta["config"]["model"]["dim"] == 8
    assert set(meta["feature_dims"]) == {"text", "image", "rating"}
    ck = Checkpoint.load(trained)
    assert ck.version == meta["version"]
    assert ck.item_ids == tiny_dataset.item_ids and ck.user_ids == tiny_dataset.user_ids
    assert ck.tensors["users"].shape == (tiny_dataset.num_users, 8)
    assert ck.tensors["items"].shape == (tiny_dataset.num_items, 8)
    # saving again and loading gives the same tensors
    copy = ck.save(trained.parent / "copy")
    again = Checkpoint.load(copy)
    torch.testing.assert_close(again.tensors["items"], ck.tensors["items"])
    assert again.config == ck.config
    metrics = evaluate_checkpoint(again, tiny_dataset, "valid")
    assert 0.0 <= metrics["ndcg@10"] <= 1.0


def test_scorer_scores_users_and_cold_start(trained: Path, tiny_dataset: RecDataset) -> None:
    scorer = Scorer.load(trained, device="cpu")
    ids = tiny_dataset.item_ids
    user = tiny_dataset.user_ids[0]
    s = _score(scorer, ids, user_id=user)
    assert s.shape == (12,) and np.all(np.isfinite(s))
    # the known user's scores follow the dot products of the saved vectors, plus the
    # item-item term of their training items when the checkpoint kept one
    ck = scorer.checkpoint
    users, items = ck.tensors["users"].float(), ck.tensors["items"].float()
    term = ItemItem.from_tensors(ck.tensors, ck.extra)
    expected = blended_scores(users, items, term, tiny_dataset.train)(np.array([0]))[0]
    assert np.argsort(-s).tolist() == np.argsort(-expected.numpy()).tolist()
    if term is None:
        dots = (items @ users[0]).numpy()
        assert np.argsort(-s).tolist() == np.argsort(-dots).tolist()
    # unknown items rank below every known one
    assert _score(scorer, ["prod:unknown"], user_id=user)[0] < s.min()
    # cold start with a liked item: that item's neighbours score high, excluded from nearest
    top = _nearest(scorer, 3, liked_item_ids=["prod:001"])
    assert len(top) == 3 and "prod:001" not in [i for i, _ in top]
    # a user the model never saw is scored as the trained users' mean, and text moves the
    # products it names up from there: a jacket query ranks jackets higher than no query
    users_mean = users.mean(0)
    alone = _score(scorer, ids, user_id="user:new")
    dots = (items @ users_mean).numpy()
    assert np.argsort(-alone).tolist() == np.argsort(-dots).tolist()
    assert np.allclose(_score(scorer, ids), alone)  # anonymous: the same
    jackets = [n for n, p in enumerate(ids) if int(p.split(":")[1]) % 3 == 1]
    asked = _score(scorer, ids, user_id="user:new", text="jackets")
    rank = lambda s: np.argsort(np.argsort(-s))  # noqa: E731
    assert rank(asked)[jackets].mean() < rank(alone)[jackets].mean()
    # ...but when their words linked catalogue entities only (a category), nothing in the
    # context is theirs: the catalogue's popularity, neither the mean nor the message's cosine
    pop = torch.log1p(ck.tensors["item_popularity"].float())
    expected_pop = ((pop - pop.mean()) / pop.std()).numpy()
    linked = _score(scorer, ids, user_id="user:new", text="jackets", entity_ids=("cat:jackets",))
    assert np.allclose(linked, expected_pop, atol=1e-5)
    # one liked item is the shopper's own: mean, message and entity count again
    liked = _score(
        scorer, ids, text="jackets", entity_ids=("cat:jackets",), liked_item_ids=("prod:001",)
    )
    assert not np.allclose(liked, expected_pop, atol=1e-3)


def test_new_product_gets_a_score_without_retraining(trained: Path) -> None:
    scorer = Scorer.load(trained, device="cpu")
    before = scorer.checkpoint.tensors["items"].clone()
    scorer.add_item(
        NewItem(
            {
                "id": "prod:new",
                "title": "Storm jackets 99",
                "description": "A warm product.",
                "brand_id": "brand:zeta",
                "category_id": "cat:jackets",
                "attribute_ids": ["attr:color=blue"],
            },
            png_bytes(99),
        )
    )
    assert scorer.has_item("prod:new")
    s = _score(scorer, ["prod:new", "prod:001"], user_id="user:1")
    assert np.all(np.isfinite(s))
    # it is embedded, not scored as "unknown" (that would be below every known item)
    everything = _score(scorer, scorer.item_ids, user_id="user:1")
    assert s[0] >= everything[:-1].min()
    assert "prod:new" in [i for i, _ in _nearest(scorer, 13, text="jackets")]
    torch.testing.assert_close(scorer.checkpoint.tensors["items"], before)  # no retraining


def test_catalog_scores_keep_no_state_between_calls(trained: Path) -> None:
    """One call encodes the query once; the same context gives the same vector again, and a
    product added in between is scored by the next call, not served from an earlier one."""
    scorer = Scorer.load(trained, device="cpu")
    encoder = scorer._encoders.text()
    calls: list[list[str]] = []
    real_encode = encoder.encode
    encoder.encode = lambda texts: calls.append(list(texts)) or real_encode(texts)
    ctx = ScoringContext(text="warm jackets", liked_item_ids=("prod:001",))
    first = scorer.catalog_scores(ctx)
    assert calls == [["warm jackets"]]
    assert first.dtype == np.float32 and first.shape == (len(scorer.item_ids),)
    np.testing.assert_array_equal(scorer.catalog_scores(ctx), first)
    scorer.add_item(
        NewItem({"id": "prod:new", "title": "Warm jackets", "category_id": "cat:jackets"})
    )
    after = scorer.catalog_scores(ctx)
    assert after.shape == (len(first) + 1,)
    assert _score(scorer, ["prod:new"], text="warm jackets")[0] >= after.min()


def test_latest_checkpoint_picks_the_newest(tmp_path: Path, trained: Path) -> None:
    assert latest_checkpoint(tmp_path) is None
    ck = Checkpoint.load(trained)
    ck.created = time.time() - 100
    old = ck.save(tmp_path / "a-old")
    ck.created = time.time()
    ck.version = "v-new"
    new = ck.save(tmp_path / "b-new")
    assert latest_checkpoint(tmp_path) == new
    assert latest_checkpoint(old) == old
    with pytest.raises(ConfigError):
        Checkpoint.load(tmp_path / "missing")


def test_resume_continues_from_saved_state(
    tiny_dataset: RecDataset, cache_dir: Path, tmp_path: Path
) -> None:
    config = tiny_config(cache_dir).with_changes(epochs=3, patience=100)
    # a run cut short by its time budget keeps its resume state
    first = train_model(
        tiny_dataset, config.with_changes(max_seconds=0.0), tmp_path, progress=False
    )
    assert [h["epoch"] for h in first.history] == [1]
    assert (tmp_path / "_resume.pt").exists()
    resumed = train_model(tiny_dataset, config, tmp_path, resume=True, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[0] == first.history[0]  # epoch 1 was not run again
    assert not (tmp_path / "_resume.pt").exists()
    # another trajectory (a different learning rate) does not pick up a foreign state
    other = train_model(
        tiny_dataset, config.with_changes(lr=0.02, max_seconds=0.0), tmp_path, progress=False
    )
    fresh = train_model(
        tiny_dataset, config.with_changes(epochs=2), tmp_path, resume=True, progress=False
    )
    assert len(other.history) == 1 and [h["epoch"] for h in fresh.history] == [1, 2]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_scores_match_cpu(trained: Path) -> None:
    cpu = Scorer.load(trained, device="cpu")
    gpu = Scorer.load(trained, device="cuda")
    ids = cpu.item_ids
    np.testing.assert_allclose(
        _score(cpu, ids, user_id="user:2"), _score(gpu, ids, user_id="user:2"), rtol=1e-4, atol=1e-4
    )


def test_small_preset_trains_on_rows_and_serves(tiny_dataset: RecDataset, tmp_path: Path) -> None:
    from models.config import TrainConfig

    config = TrainConfig.small().with_changes(epochs=2, device="cpu")
    path = train(tiny_dataset, config, tmp_path, progress=False)
    scorer = Scorer.load(latest_checkpoint(tmp_path) or path, device="cpu")
    assert scorer.version == Checkpoint.load(path).version
    assert set(scorer.checkpoint.feature_dims) == {"text", "rating"}  # no images in the preset
    top = _nearest(scorer, 3, text="jackets", entity_ids=("brand:zeta",))
    assert len(top) == 3


def test_full_softmax_loss_equals_cross_entropy_over_all_items() -> None:
    """The per-distinct-user log-partition is an exact rewrite of the (B, I) cross-entropy:
    same value and same gradients, with repeated users in the batch."""
    from models.training.trainer import _full_softmax_loss

    gen = torch.Generator().manual_seed(3)
    user_vecs = torch.randn(12, 8, generator=gen, requires_grad=True)
    item_vecs = torch.randn(30, 8, generator=gen, requires_grad=True)
    users = torch.randint(0, 12, (200,), generator=gen)  # ~17 pairs per user
    items = torch.randint(0, 30, (200,), generator=gen)

    ours = _full_softmax_loss(user_vecs[users], item_vecs, users, items)
    ours_grads = torch.autograd.grad(ours, (user_vecs, item_vecs))
    reference = torch.nn.functional.cross_entropy(user_vecs[users] @ item_vecs.T, items)
    reference_grads = torch.autograd.grad(reference, (user_vecs, item_vecs))

    assert torch.allclose(ours, reference, atol=1e-6)
    for mine, theirs in zip(ours_grads, reference_grads, strict=True):
        assert torch.allclose(mine, theirs, atol=1e-6)


def test_query_text_cache_is_bounded_by_cache_rows(trained: Path) -> None:
    """A serving scorer sees an endless stream of new query texts: its text encoder keeps
    at most ``cache_rows`` of their embeddings (least recently used dropped first)."""
    scorer = Scorer.load(trained, device="cpu", cache_rows=5)
    cache = scorer._encoders.text().cache
    assert cache.max_rows == 5
    for i in range(12):
        scorer.catalog_scores(ScoringContext(text=f"warm jackets number {i}"))
    assert len(cache) <= 5
    if scorer.config.encoder.text_backend == "minilm":  # the static backend needs no cache
        assert len(cache) == 5
