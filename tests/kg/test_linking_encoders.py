"""The MiniLM encoders' code paths on a tiny randomly initialised BERT built here (the real
weights are exercised by ``bench/linking_bench.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kg.linking import EntityLinker, MiniLMNameEncoder, StaticMiniLMEncoder
from kg.types import LexiconEntry
from tests.tiny_bert import save_tiny_bert

# importing torch + transformers alone takes seconds on the shared 2-core box
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.mark.parametrize("cls", [MiniLMNameEncoder, StaticMiniLMEncoder])
def test_encoders_return_unit_rows(tiny_model: Path, cls: type) -> None:
    enc = cls(tiny_model)
    out = enc.encode(["running shoes", "red", "", "pizza"])
    assert out.shape == (4, 16) and out.dtype == np.float32
    norms = np.linalg.norm(out, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 3]], 1.0, rtol=1e-5)
    again = enc.encode(["running shoes"])
    np.testing.assert_allclose(again[0], out[0], rtol=1e-5, atol=1e-6)


def test_static_encoder_is_a_mean_of_token_vectors(tiny_model: Path) -> None:
    enc = StaticMiniLMEncoder(tiny_model)
    a, b, ab = enc.encode(["running", "shoes", "running shoes"])
    raw = enc._table[enc._tokenizer(["running", "shoes"], add_special_tokens=False)["input_ids"]]
    mean = raw.reshape(2, -1).mean(axis=0)
    np.testing.assert_allclose(ab, mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
    assert not np.allclose(a, b)


def test_static_table_is_cached_on_disk(tiny_model: Path, tmp_path: Path) -> None:
    first = StaticMiniLMEncoder(tiny_model, cache_dir=tmp_path)
    assert not first.complete
    assert first.precompute() and first.complete
    assert [p.name for p in tmp_path.iterdir()] == [first.table_file(tmp_path).name]
    second = StaticMiniLMEncoder(tiny_model, cache_dir=tmp_path)
    assert second.complete and not second.precompute()  # loaded: nothing left to compute
    assert second._model is None  # so the MiniLM itself is never loaded
    # float32 on disk: a later process reads the very vectors this one used
    np.testing.assert_array_equal(second.encode(["rain coat"]), first.encode(["rain coat"]))


def test_attaching_a_saved_table_keeps_the_rows_already_used(
    tiny_model: Path, tmp_path: Path
) -> None:
    saved = StaticMiniLMEncoder(tiny_model, cache_dir=tmp_path)
    saved.precompute()
    enc = StaticMiniLMEncoder(tiny_model)
    before = enc.encode(["pizza"])  # a lone token: its row differs from the table's in bits
    enc.attach(tmp_path)
    assert enc.complete
    np.testing.assert_array_equal(enc.encode(["pizza"]), before)
    np.testing.assert_array_equal(enc.encode(["horror"]), saved.encode(["horror"]))


def test_shared_is_one_encoder_per_model_for_the_linker_and_the_scorer(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.linking import static_minilm_encoder
    from models.encoders import TextEncoder

    monkeypatch.setattr(static_minilm_encoder, "_SHARED", {})
    linker = StaticMiniLMEncoder.shared(tiny_model, cache_dir=tmp_path)
    scorer = TextEncoder(tiny_model, backend="static")
    assert scorer._static is linker is StaticMiniLMEncoder.shared(str(tiny_model) + "/.")
    scorer.encode(["scary jacket"])
    ids = linker._tokenizer(["scary jacket"], add_special_tokens=False)["input_ids"][0]
    assert linker._known[ids].all()  # the scorer's words are the linker's: computed once


def test_linker_embeds_the_lexicon_with_the_encoder(tiny_model: Path) -> None:
    lexicon = [LexiconEntry("cat:jackets", "Category", "Jacket", "Jacket")]
    enc = StaticMiniLMEncoder(tiny_model)
    linker = EntityLinker(lexicon, encoder=enc)
    vec = enc.encode(["jacket"])[0]
    matrix = linker._state[1]
    assert matrix.shape == (1, 16)
    np.testing.assert_allclose(matrix[0], vec, rtol=1e-5, atol=1e-6)
