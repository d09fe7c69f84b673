"""llm-local with a tiny causal LM built in the test (random weights: its replies are not
JSON, which is exactly what the fallback paths need)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from models.intent import IntentConfig, LocalLLMIntentParser
from models.intent.llm_local import _json_closed


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer, 32-wide Llama with a byte-level BPE tokenizer and no chat template."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-lm")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        ['{"type": "refine", "mentions": []} show me shoes'], vocab_size=300, min_frequency=1
    )
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="</s>")
    tok.add_special_tokens({"eos_token": "</s>"})
    tok.save_pretrained(d)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


def local(path: Path, tiny_parser, lexicon, **kw) -> LocalLLMIntentParser:
    cfg = IntentConfig(backend="llm-local", llm_model_path=str(path), **kw)
    return LocalLLMIntentParser(cfg, lexicon, fallback=tiny_parser)


@pytest.mark.slow
def test_not_loaded_yet_falls_back_then_loads(tiny_lm_dir, tiny_parser, lexicon) -> None:
    parser = local(tiny_lm_dir, tiny_parser, lexicon, llm_max_new_tokens=8)
    first = parser.parse("something cheaper")
    assert first.backend == "embedded(fallback:llm-local:loading)"
    assert first.price is not None and first.price.relative == "cheaper"
    assert parser._loading is not None
    parser._loading.join(timeout=60)
    assert parser._model is not None


@pytest.mark.slow
def test_unusable_reply_falls_back(tiny_lm_dir, tiny_parser, lexicon) -> None:
    parser = local(tiny_lm_dir, tiny_parser, lexicon, llm_max_new_tokens=12, budget_ms=30_000)
    parser.warm_up()
    got = parser.parse("not that brand")
    assert got.backend == "embedded(fallback:llm-local:invalid)"
    assert [r.kind for r in got.references] == ["that_brand"]


@pytest.mark.slow
def test_budget_cuts_generation(tiny_lm_dir, tiny_parser, lexicon) -> None:
    parser = local(tiny_lm_dir, tiny_parser, lexicon, llm_max_new_tokens=4000, budget_ms=150)
    parser.warm_up()
    t0 = time.perf_counter()
    got = parser.parse("show me red running shoes")
    assert time.perf_counter() - t0 < 5.0
    assert got.backend == "embedded(fallback:llm-local:timeout)"


def test_missing_model_dir_is_reported(tmp_path, tiny_parser, lexicon) -> None:
    parser = local(tmp_path / "nope", tiny_parser, lexicon)
    parser.parse("hi")  # starts loading in the background
    assert parser._loading is not None
    parser._loading.join(timeout=30)
    assert parser.parse("hi").backend == "embedded(fallback:llm-local:error)"


@pytest.mark.parametrize(
    ("text", "closed"),
    [
        ('{"type": "other"}', True),
        ('prose {"a": {"b": "}"}} more', True),
        ('{"type": "oth', False),
        ('{"a": "\\"}"', False),
        ("no json", False),
    ],
)
def test_json_closed(text, closed) -> None:
    assert _json_closed(text) is closed


TAUGHT_MESSAGE = "not Nike, show me red ones"
TAUGHT_REPLY = {
    "type": "refine",
    "mentions": [
        {"text": "Nike", "label": "Brand", "negated": True},
        {"text": "red", "label": "Attribute", "negated": False},
    ],
    "price": None,
    "references": [],
    "clear_constraints": False,
}


@pytest.fixture(scope="module")
def taught_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama trained in the test to answer one prompt with one Intent JSON."""
    import json

    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from models.intent._llm_schema import chat_messages

    d = tmp_path_factory.mktemp("taught-lm")
    target = json.dumps(TAUGHT_REPLY)
    msgs = chat_messages(TAUGHT_MESSAGE, None)
    # no chat template: LocalLLMIntentParser then prompts with "role: content" lines
    prompt = "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant: "
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([prompt, target], vocab_size=600, min_frequency=2)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="</s>")
    tok.add_special_tokens({"eos_token": "</s>"})
    tok.save_pretrained(d)
    p_ids, t_ids = tok(prompt)["input_ids"], tok(target)["input_ids"]
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)
    ids = torch.tensor([[*p_ids, *t_ids, tok.eos_token_id]])
    labels = ids.clone()
    labels[0, : len(p_ids)] = -100  # learn the reply only
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(400):
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    model.save_pretrained(d)
    return d


@pytest.mark.slow
def test_valid_reply_from_a_local_model(taught_lm_dir, tiny_parser, lexicon) -> None:
    parser = local(taught_lm_dir, tiny_parser, lexicon, budget_ms=60_000)
    parser.warm_up()
    got = parser.parse(TAUGHT_MESSAGE)
    assert got.backend == "llm-local"
    assert got.type.value == "refine"
    assert [(m.text, m.negated, m.entity_id) for m in got.mentions] == [
        ("Nike", True, "brand:nike"),
        ("red", False, "attr:color=red"),
    ]
    for m in got.mentions:
        assert TAUGHT_MESSAGE[m.start : m.end] == m.text
    assert 0.5 < got.confidence <= 1.0  # mean token probability of a memorised reply
