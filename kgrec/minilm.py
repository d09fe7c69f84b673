"""The packaged MiniLM (a BERT encoder) without ``transformers``: its forward pass in plain torch
and its tokenizer through the ``tokenizers`` library.

Why: ``kgrec serve`` runs MiniLM in three places (the intent parser's 3-layer encoder, the
linker's and the scorer's static token vectors), and loading it through ``transformers``
(``AutoTokenizer`` + ``AutoModel``) imports a few thousand modules first: 2-3 s of a ~4 s warm
restart on an idle 2-core machine, far more under load. What serving needs of it is small: a
WordPiece tokenizer (the model dir's ``tokenizer.json``, the same Rust tokenizer
``transformers`` wraps) and a BERT encoder forward in eval mode (Devlin et al. 2019,
https://arxiv.org/abs/1810.04805):

.. math::
    h^0 = \\mathrm{LN}(E_{tok}[x] + E_{pos}[t] + E_{type}[0]), \\quad
    a = \\mathrm{LN}(h + W_o\\,\\mathrm{Attn}(h)), \\quad
    h' = \\mathrm{LN}(a + W_2\\,\\mathrm{GELU}(W_1 a))

with multi-head scaled dot-product attention over the unmasked tokens. Module and parameter
names follow ``transformers``' ``BertModel``, so the ``model.safetensors`` state dict loads
as is; ``tests/kgrec/test_minilm.py`` checks token ids and hidden states against it.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812

from kgrec.sentence_embedding import INFERENCE_DTYPES

log = logging.getLogger(__name__)

__all__ = [
    "INFERENCE_DTYPES",
    "BertEncoder",
    "BertOutput",
    "MiniLMTokenizer",
    "forward_dtype",
    "in_dtype",
    "inference_dtype",
    "load_encoder",
    "native_bf16",
    "set_inference_dtype",
]

_inference_dtype = torch.float32  # until the server says otherwise: training encodes in float32


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles). oneDNN then
    runs MiniLM's matmuls in bfloat16 ~2-3x faster than in float32; without them it emulates
    bfloat16, slower than float32."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def set_inference_dtype(name: str) -> torch.dtype:
    """Set the dtype of this process's per-request MiniLM forwards on the CPU (the scorers'
    conversation vectors, :class:`~models.encoders.TextEncoder`) and return it: ``float32``,
    ``bfloat16``, or ``auto`` (bfloat16 where :func:`native_bf16`, else float32). Process-wide,
    like ``torch.set_num_threads``: the serving pipeline's builder sets it from its settings.
    Pooling and normalisation stay in float32; a bfloat16 vector's cosine to the float32 one is
    ~0.9999 (``tests/kgrec/test_minilm.py``)."""
    global _inference_dtype
    if name not in INFERENCE_DTYPES:
        raise ValueError(f"encoder dtype {name!r} is not one of {', '.join(INFERENCE_DTYPES)}")
    if name == "auto":
        name = "bfloat16" if native_bf16() else "float32"
    _inference_dtype = getattr(torch, name)
    return _inference_dtype


def inference_dtype() -> torch.dtype:
    """The dtype :func:`set_inference_dtype` chose (float32 until it is called)."""
    return _inference_dtype


def forward_dtype(device: torch.device) -> torch.dtype:
    """The dtype a per-request MiniLM forward on ``device`` runs in: :func:`inference_dtype`
    on the CPU; float32 on an accelerator, as the heads and scorers on these vectors were
    trained (the intent encoder and the scorers' text encoder both ask here)."""
    return _inference_dtype if device.type == "cpu" else torch.float32


_casts: weakref.WeakKeyDictionary[nn.Module, dict[torch.dtype, nn.Module]] = (
    weakref.WeakKeyDictionary()
)
_casts_lock = threading.Lock()


def in_dtype(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """``model`` itself for float32, else a copy cast to ``dtype``, made once per model and
    dtype and kept while the model lives: the float32 weights stay as they are (training, and
    the vectors already cached, read them)."""
    if dtype == torch.float32:
        return model
    with _casts_lock:
        copies = _casts.setdefault(model, {})
        if dtype not in copies:
            copies[dtype] = copy.deepcopy(model).to(dtype)
        return copies[dtype]


class MiniLMTokenizer:
    """The model dir's ``tokenizer.json`` (WordPiece, lower-casing BERT normaliser, ``[CLS] x
    [SEP]`` template), called the way the callers here call a ``transformers`` tokenizer:

    - ``tok(texts, padding=True, truncation=True, max_length=n, return_tensors="pt")``: a dict
      of ``input_ids``, ``token_type_ids``, ``attention_mask`` tensors ``(b, t)``, padded to
      the longest text, each truncated to ``n`` tokens including ``[CLS]`` and ``[SEP]``;
    - ``tok(texts, add_special_tokens=False)``: ``{"input_ids": [[...], ...]}``, untruncated.
    """

    def __init__(self, path: str | Path) -> None:
        from tokenizers import Tokenizer

        file = Path(path, "tokenizer.json")
        if not file.is_file():  # the Rust loader raises a bare Exception for it
            raise FileNotFoundError(f"no tokenizer.json in {path}")
        self._tok = Tokenizer.from_file(str(file))
        self._tok.no_truncation()
        self._tok.no_padding()
        config = json.loads(Path(path, "tokenizer_config.json").read_text(encoding="utf-8"))
        self.pad_token_id = self._id(config.get("pad_token", "[PAD]"))
        self.cls_token_id = self._id(config.get("cls_token", "[CLS]"))
        self.sep_token_id = self._id(config.get("sep_token", "[SEP]"))
        self.vocab_size = int(self._tok.get_vocab_size(with_added_tokens=False))

    def _id(self, token: str) -> int:
        found = self._tok.token_to_id(token)
        if found is None:
            raise ValueError(f"tokenizer has no {token!r}")
        return int(found)

    def __call__(
        self,
        texts: Sequence[str],
        *,
        padding: bool = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
    ) -> dict[str, Any]:
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        ids = [e.ids for e in encodings]
        if truncation and max_length is not None:  # the text's tokens, then [CLS] / [SEP]
            keep = max_length - (2 if add_special_tokens else 0)
            ids = [row[:keep] for row in ids]
        if add_special_tokens:
            ids = [[self.cls_token_id, *row, self.sep_token_id] for row in ids]
        if return_tensors is None:
            return {"input_ids": ids}
        if return_tensors != "pt":
            raise ValueError(f"return_tensors={return_tensors!r}: only 'pt' is supported")
        width = max((len(r) for r in ids), default=0) if padding else None
        if width is None and len({len(r) for r in ids}) > 1:
            raise ValueError("texts of different lengths need padding=True")
        width = width if width is not None else (len(ids[0]) if ids else 0)
        input_ids = torch.full((len(ids), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        return {
            "input_ids": input_ids,
            "token_type_ids": torch.zeros_like(input_ids),
            "attention_mask": mask,
        }


@dataclass(frozen=True, slots=True)
class BertOutput:
    last_hidden_state: Tensor  # (b, t, d)


@dataclass(slots=True)
class BertConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, path: str | Path) -> BertConfig:
        raw = json.loads(Path(path, "config.json").read_text(encoding="utf-8"))
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: not a BERT encoder with GELU ({raw.get('model_type')})")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only absolute position embeddings are supported")
        return cls(**{f: raw[f] for f in cls.__dataclass_fields__})


class _Linear(nn.Module):
    """``nn.Linear`` without its random init (the weights are assigned on load)."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in), requires_grad=False)
        self.bias = nn.Parameter(torch.empty(d_out), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


class _Embedding(nn.Module):
    """``nn.Embedding`` without its random init."""

    def __init__(self, n: int, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, d), requires_grad=False)

    def forward(self, ids: Tensor) -> Tensor:
        return F.embedding(ids, self.weight)


class _LayerNorm(nn.Module):
    """``nn.LayerNorm`` without its init."""

    def __init__(self, d: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(d), requires_grad=False)
        self.bias = nn.Parameter(torch.empty(d), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class _Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = _Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = _Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = _Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = _LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # summed in transformers' order, so the floats come out the same
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x + self.position_embeddings(positions)[None])


class _SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.heads = c.num_attention_heads
        self.scaling = (c.hidden_size // c.num_attention_heads) ** -0.5
        self.query = _Linear(c.hidden_size, c.hidden_size)
        self.key = _Linear(c.hidden_size, c.hidden_size)
        self.value = _Linear(c.hidden_size, c.hidden_size)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        b, t, d = h.shape

        def split(x: Tensor) -> Tensor:  # (b, t, d) -> (b, heads, t, d / heads)
            return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(
            split(self.query(h)),
            split(self.key(h)),
            split(self.value(h)),
            attn_mask=mask,
            scale=self.scaling,
        )
        return ctx.transpose(1, 2).reshape(b, t, d)


class _DenseNorm(nn.Module):
    """``LN(x + W y)``: the residual sub-layer output of BERT."""

    def __init__(self, d_in: int, d_out: int, eps: float) -> None:
        super().__init__()
        self.dense = _Linear(d_in, d_out)
        self.LayerNorm = _LayerNorm(d_out, eps=eps)

    def forward(self, y: Tensor, x: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(y) + x)


class _Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _DenseNorm(c.hidden_size, c.hidden_size, c.layer_norm_eps)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(h, mask), h)


class _Intermediate(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = _Linear(c.hidden_size, c.intermediate_size)

    def forward(self, a: Tensor) -> Tensor:
        return F.gelu(self.dense(a))


class _Layer(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseNorm(c.intermediate_size, c.hidden_size, c.layer_norm_eps)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class _Encoder(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))


class BertEncoder(nn.Module):
    """BERT's embeddings and encoder layers (no pooler), eval mode; ``encoder.layer`` may be cut
    to its first N layers.

    ``forward(input_ids, attention_mask=None, token_type_ids=None)`` takes ``(b, t)`` long
    tensors and returns :class:`BertOutput` with ``last_hidden_state`` ``(b, t, d)``.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> BertEncoder:
        """The encoder of a ``transformers`` BERT model dir (``config.json`` and
        ``model.safetensors``); raises ``ValueError`` when a weight is missing."""
        from safetensors.torch import load_file

        model = cls(BertConfig.read(path))  # uninitialised: the weights are assigned
        state = load_file(str(Path(path, "model.safetensors")))
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        # assigned, not copied; the pooler's weights are unused
        missing, _unused = model.load_state_dict(state, strict=False, assign=True)
        if missing:
            raise ValueError(f"{path}: weights missing for {', '.join(missing[:5])}")
        return model.eval()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> BertOutput:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        h = self.embeddings(input_ids, token_type_ids)
        mask = None  # no padding: attend everywhere (as transformers skips the mask then)
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = attention_mask.bool()[:, None, None, :]  # (b, 1, 1, t): keys to attend to
        for layer in self.encoder.layer:
            h = layer(h, mask)
        return BertOutput(h)


def load_tokenizer(path: str | Path) -> Any:
    """The tokenizer :func:`load_encoder` would load with the model, alone."""
    try:
        return MiniLMTokenizer(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.info("%s: loading the tokenizer through transformers (%s)", path, e)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


def load_encoder(path: str | Path) -> tuple[Any, Any]:
    """``(tokenizer, model)`` of a local model dir, the model in eval mode: for a BERT dir
    with ``tokenizer.json`` and ``model.safetensors`` (the packaged MiniLM) the light
    :class:`MiniLMTokenizer` and :class:`BertEncoder`; for any other dir ``transformers``'
    ``AutoTokenizer`` and ``AutoModel``, as before. Both are called the same way."""
    try:
        return MiniLMTokenizer(path), BertEncoder.from_pretrained(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.info("%s: loading through transformers (%s)", path, e)
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path)), AutoModel.from_pretrained(str(path)).eval()
