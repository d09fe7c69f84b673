"""A tiny randomly initialised BERT saved as a local ``transformers`` dir: the MiniLM
encoders' code paths without the packaged weights (those run in ``bench/linking_bench.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

WORDS = ["running", "shoes", "red", "jacket", "rain", "coat", "pizza", "horror", "scary"]


def save_tiny_bert(
    path: Path,
    words: Sequence[str] = WORDS,
    *,
    suffixes: Sequence[str] = ("##s", "##ing"),
    hidden: int = 16,
    layers: int = 1,
    fast: bool = False,
) -> Path:
    """Save a tiny BERT in ``path``: vocabulary the specials, ``words`` and ``suffixes``;
    ``hidden`` wide (feed-forward twice that), ``layers`` deep, two heads, seeded weights.
    ``fast``: the tokenizer saved by ``BertTokenizerFast`` (with ``tokenizer.json``, which the
    light :class:`kgrec.minilm.MiniLMTokenizer` reads); else by the slow ``BertTokenizer``
    (no ``tokenizer.json``: the loaders fall back to ``transformers``)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *suffixes]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast if fast else BertTokenizer
    # positionally: transformers 5 reads a vocab_file keyword as no vocab (every word [UNK])
    tokenizer(str(path / "vocab.txt")).save_pretrained(str(path))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(path))
    return path
