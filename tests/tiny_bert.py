"""A tiny randomly initialised BERT saved as a local ``transformers`` dir: the MiniLM
encoders' code paths without the packaged weights (those run in ``bench/linking_bench.py``)."""

from __future__ import annotations

from pathlib import Path

WORDS = ["running", "shoes", "red", "jacket", "rain", "coat", "pizza", "horror", "scary"]


def save_tiny_bert(path: Path) -> Path:
    """Save the tiny BERT (vocabulary: :data:`WORDS`, specials, two suffixes) in ``path``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

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
