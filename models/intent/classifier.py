"""The intent-type head: multinomial logistic regression over [embedding ⊕ rule features].

.. math:: p(y \\mid x) = \\mathrm{softmax}(W [e(x) ; \\phi(x)] + b)_y

with :math:`e(x) \\in \\mathbb{R}^{384}` the message's unit vector from the encoder the head
was trained on (``encoder_kind``: ``static``, the mean of the static MiniLM token table's
vectors, or ``contextual``, a MiniLM forward of ``encoder_layers`` layers),
:math:`\\phi(x) \\in \\{0,1\\}^{21}` the cues of :mod:`models.intent._features`, scaled by
``feature_scale``, :math:`W \\in \\mathbb{R}^{6 \\times 405}`. Trained with L2 penalty
:math:`\\lambda \\lVert W \\rVert^2` by full-batch L-BFGS (``python -m models.intent.train``)
on the ``train`` split of the evaluation set; weights ship as ``data/intent_head.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgrec.domain import IntentType
from kgrec.errors import ConfigError

logger = logging.getLogger(__name__)

#: the text vectors a head can be trained on (see the module docstring)
ENCODER_KINDS = ("static", "contextual")


@dataclass(frozen=True, slots=True)
class IntentClassifier:
    """Linear softmax head; ``labels[k]`` is the intent of logit ``k``."""

    labels: tuple[IntentType, ...]
    weight: np.ndarray  # (C, D)
    bias: np.ndarray  # (C,)
    feature_names: tuple[str, ...]
    feature_scale: float = 1.0
    encoder: str = ""
    encoder_layers: int | None = None  # the encoder depth the head was trained on
    encoder_kind: str = "contextual"  # or "static": the static MiniLM token table's mean

    def predict_proba(self, embedding: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``(C,)`` probabilities for one message."""
        x = np.concatenate([embedding, features * self.feature_scale])
        z = self.weight @ x + self.bias
        z = z - z.max()
        p = np.exp(z)
        return p / p.sum()

    def predict(self, embedding: np.ndarray, features: np.ndarray) -> tuple[IntentType, float]:
        p = self.predict_proba(embedding, features)
        k = int(p.argmax())
        return self.labels[k], float(p[k])

    # -----------------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        features: np.ndarray,
        labels: list[IntentType],
        *,
        feature_names: tuple[str, ...],
        l2: float = 1e-3,
        feature_scale: float = 1.0,
        encoder: str = "",
        encoder_layers: int | None = None,
        encoder_kind: str = "contextual",
        max_iter: int = 500,
    ) -> IntentClassifier:
        """Fit on ``embeddings (N, E)``, ``features (N, F)`` and their gold ``labels``."""
        import torch

        classes = tuple(t for t in IntentType if t in set(labels))
        y = torch.tensor([classes.index(t) for t in labels])
        x = torch.tensor(
            np.concatenate([embeddings, features * feature_scale], axis=1), dtype=torch.float64
        )
        g = torch.Generator().manual_seed(0)
        w = torch.randn(len(classes), x.shape[1], generator=g, dtype=torch.float64) * 0.01
        w.requires_grad_(True)
        b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ w.T + b, y) + l2 * (w * w).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return cls(
            labels=classes,
            weight=w.detach().numpy().astype(np.float32),
            bias=b.detach().numpy().astype(np.float32),
            feature_names=feature_names,
            feature_scale=feature_scale,
            encoder=encoder,
            encoder_layers=encoder_layers,
            encoder_kind=encoder_kind,
        )

    def save(self, path: str | Path) -> None:
        data = {
            "labels": [str(t) for t in self.labels],
            "feature_names": list(self.feature_names),
            "feature_scale": self.feature_scale,
            "encoder": self.encoder,
            "encoder_layers": self.encoder_layers,
            "encoder_kind": self.encoder_kind,
            "bias": [round(float(v), 6) for v in self.bias],
            "weight": [[round(float(v), 6) for v in row] for row in self.weight],
        }
        Path(path).write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> IntentClassifier:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            head = cls(
                labels=tuple(IntentType(t) for t in data["labels"]),
                weight=np.asarray(data["weight"], dtype=np.float32),
                bias=np.asarray(data["bias"], dtype=np.float32),
                feature_names=tuple(data["feature_names"]),
                feature_scale=float(data.get("feature_scale", 1.0)),
                encoder=data.get("encoder", ""),
                encoder_layers=data.get("encoder_layers"),
                encoder_kind=data.get("encoder_kind", "contextual"),  # heads before it
            )
            if head.encoder_kind not in ENCODER_KINDS:
                raise ValueError(
                    f"encoder_kind {head.encoder_kind!r} is none of {', '.join(ENCODER_KINDS)}"
                )
            return head
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(
                f"cannot load intent head {path}: {e}; "
                "build it with `python -m models.intent.train`"
            ) from e


__all__ = ["ENCODER_KINDS", "IntentClassifier"]
