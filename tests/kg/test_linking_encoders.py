"""The MiniLM encoders' code paths on a tiny randomly initialised BERT built here (the real
weights are exercised by ``bench/linking_bench.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kg.linking import EntityLinker, MiniLMNameEncoder, StaticMiniLMEncoder
from kg.types import LexiconEntry

# importing torch + transformers alone takes seconds on the shared 2-core box
pytestmark = pytest.mark.slow

WORDS = ["running", "shoes", "red", "jacket", "rain", "coat", "pizza", "horror", "scary"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s", "##ing"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(str(path))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(path))
    return path


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
    first.precompute()
    assert first.complete and list(tmp_path.glob("minilm-static-*.npy"))
    second = StaticMiniLMEncoder(tiny_model, cache_dir=tmp_path)
    assert second.complete  # loaded, no model pass needed
    np.testing.assert_allclose(
        second.encode(["rain coat"]), first.encode(["rain coat"]), rtol=1e-2, atol=1e-3
    )


def test_linker_embeds_the_lexicon_with_the_encoder(tiny_model: Path) -> None:
    lexicon = [LexiconEntry("cat:jackets", "Category", "Jacket", "Jacket")]
    enc = StaticMiniLMEncoder(tiny_model)
    linker = EntityLinker(lexicon, encoder=enc)
    vec = enc.encode(["jacket"])[0]
    matrix = linker._state[1]
    assert matrix.shape == (1, 16)
    np.testing.assert_allclose(matrix[0], vec, rtol=1e-5, atol=1e-6)
