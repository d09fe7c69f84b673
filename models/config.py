"""Typed configuration for the item encoders, the graph recommenders and training.

Every knob has a documented default; presets are class methods (``TrainConfig.small()``).
Configs round-trip through plain dicts (``to_dict`` / ``from_dict``) so a checkpoint can
record exactly what it was trained with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from kgrec.errors import ConfigError

__all__ = ["EncoderConfig", "ModelConfig", "TrainConfig"]

LOSSES = ("bpr", "softmax")
TEXT_BACKENDS = ("minilm", "static")


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """Frozen per-item feature extractors (text, image, rating).

    Attributes:
        use_text: encode title/description with MiniLM (384-d).
        text_backend: ``"minilm"`` (the transformer, mean-pooled) or ``"static"`` (MiniLM
            token vectors averaged without running the transformer per text; ~50x faster,
            ``kg.linking.StaticMiniLMEncoder``).
        use_image: encode product images with EfficientNet-Lite0 (1280-d, pooled).
        use_rating: rating statistics (count, mean, 1..5 histogram, recency).
        text_max_length: tokens kept per text (MiniLM was trained with 256).
        text_batch_size: texts per forward pass.
        image_size: square input side for the CNN (224 is the ImageNet setting).
        image_batch_size: images per forward pass.
        cache_dir: where text/image embeddings are cached (``None``: ``~/.cache/kgrec``).
    """

    use_text: bool = True
    use_image: bool = True
    use_rating: bool = True
    text_backend: str = "minilm"
    text_max_length: int = 256
    text_batch_size: int = 64
    image_size: int = 224
    image_batch_size: int = 32
    cache_dir: str | None = None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """The graph recommender.

    Attributes:
        name: registered model name (see ``models.gnn.MODELS``).
        dim: embedding size ``d`` of users, items and entities.
        num_layers: message-passing layers ``K``.
        use_kg: add item-entity and entity-entity edges of the knowledge graph.
        kg_edge_weight: weight of KG edges relative to user-item edges (before normalisation).
        min_entity_degree: drop KG entities linked to fewer items than this (leaves that
            cannot connect two items only add parameters).
        id_embeddings: learn a free embedding per item on top of the multimodal vector.
        modality_dropout: probability of hiding each modality of an item during training,
            so the fusion learns to cope with missing modalities.
    """

    name: str = "lightgcn"
    dim: int = 64
    num_layers: int = 3
    use_kg: bool = True
    kg_edge_weight: float = 1.0
    min_entity_degree: int = 2
    id_embeddings: bool = True
    modality_dropout: float = 0.1


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Optimisation, early stopping and the nested model/encoder configs.

    Attributes:
        loss: ``"softmax"`` (softmax over all items, or over ``sampled_negatives`` uniform
            items shared by the batch, temperature ``temperature``) or ``"bpr"`` (Rendle et
            al. 2009, ``num_negatives`` uniform negatives per positive).
        sampled_negatives: ``None``: full softmax; else the number of shared negatives.
        similarity: ``"cosine"`` (scores ``cos(h_u, h_i) / temperature``) or ``"dot"``
            (``h_u . h_i``; vector norms can carry popularity). BPR always uses ``"dot"``.
        epochs: maximum number of passes over the training pairs.
        batch_size: training pairs per step. The softmax's cost grows with the batch's
            distinct users, not its pairs, so large batches are cheap. 16,384 was chosen on
            ML-100K valid NDCG@10 against 4,096 (3 seeds each; ``bench.movielens_peers
            --variants "kgrec,kgrec batch 4096"``, bench/RESULTS.md).
        lr: Adam learning rate.
        reg: L2 weight on the layer-0 embeddings of the batch (LightGCN's regulariser).
        eval_every: epochs between validation runs.
        patience: validation runs without NDCG@10 improvement before stopping. With
            large batches an epoch is only a few steps; 5 stopped some ML-100K ablation runs
            on an early plateau (epoch 16-24 of what otherwise trains to 50-80).
        max_seconds: wall-clock budget for training (``None``: unlimited).
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        threads: torch CPU threads while training (``None``: torch's default). On a
            machine shared by many processes one thread is several times faster than two
            (measured 0.45 s vs 1.9 s per ML-100K step at load ~10 on 2 cores).
        cold_item_map: serve items with no training interaction (and items added later
            through ``add_item``) from a ridge map of their text embedding into the trained
            item space (``models.training.cold_items``) instead of the vector training left
            them (a softmax negative only) or the fusion of their content. Needs text
            features; off by default (the warm benchmark is unchanged).
        cold_item_scale: length ``c`` of a mapped cold item's vector (warm ones are unit):
            below 1 a new item scores under a warm item of the same direction.
        cold_item_ridge: L2 weight ``lambda`` of the ridge map.
        item_item: after training, fit EASE^R item-item weights for each of
            ``item_item_lambdas`` and keep the one, with the weight of
            ``item_item_weights``, that scores best with the trained vectors on valid (or
            none, if none beats the GNN alone): a term of the served score for users the
            model was trained on, past ``item_item.FEW_ITEMS`` training items
            (``models.training.item_item``). Needs a validation split.
        item_item_max_items: the most-interacted items the weights cover (``m``: a dense
            ``m x m`` matrix, ``O(m^3)`` to fit).
        item_item_text_neighbours: ``k``: every other item with text is scored on the term
            as the mean of its ``k`` text-nearest covered items (0: such items score 0).
            20 was chosen on the cold-valid half of ``bench.coldstart`` (k in 0, 5, 20, 50;
            bench/RESULTS.md).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    loss: str = "softmax"
    temperature: float = 0.2
    num_negatives: int = 1
    sampled_negatives: int | None = None
    similarity: str = "cosine"
    epochs: int = 200
    batch_size: int = 16384
    lr: float = 1e-2
    reg: float = 1e-4
    eval_every: int = 2
    patience: int = 10
    max_seconds: float | None = None
    seed: int = 2026
    device: str = "auto"
    threads: int | None = None
    cold_item_map: bool = False
    cold_item_scale: float = 0.5
    cold_item_ridge: float = 10.0
    item_item: bool = True
    item_item_lambdas: tuple[float, ...] = (100.0, 300.0, 1000.0)
    item_item_weights: tuple[float, ...] = (0.25, 0.5, 1.0)
    item_item_max_items: int = 4096
    item_item_text_neighbours: int = 20

    def __post_init__(self) -> None:
        if self.encoder.text_backend not in TEXT_BACKENDS:
            raise ConfigError(
                f"unknown text backend {self.encoder.text_backend!r}; "
                f"valid: {', '.join(TEXT_BACKENDS)}"
            )
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        if self.similarity not in ("cosine", "dot"):
            raise ConfigError(f"unknown similarity {self.similarity!r}; valid: cosine, dot")
        if not 0.0 < self.cold_item_scale <= 1.0 or self.cold_item_ridge < 0.0:
            raise ConfigError("cold_item_scale must be in (0, 1], cold_item_ridge >= 0")
        for name in ("item_item_lambdas", "item_item_weights"):  # lists from a json config
            object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
        if self.item_item_max_items < 1 or any(x <= 0 for x in self.item_item_lambdas):
            raise ConfigError("item_item_max_items must be >= 1, item_item_lambdas > 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"unknown device {self.device!r}; valid: auto, cpu, cuda")

    @classmethod
    def small(cls) -> TrainConfig:
        """A model that trains in under a minute on two CPU cores (the demo store: 6,000
        products, 2,500 users).

        Text uses the static MiniLM token vectors and images are off: running the
        transformer and the CNN over 6,000 items alone takes minutes on two cores (measured
        ~230 s for text at 128 tokens and ~250 s for images at 96 px on the shared box).
        One torch thread while training (faster on a busy 2-core box, see ``threads``).
        The demo images only show the category's shape in the product's colour, which the
        KG edges already carry. ``TrainConfig()`` (``kgrec train``) uses all modalities.
        No item-item term (``item_item``): its choice on valid would add to every start-up
        that trains, and past 50,000 products a known user's turn would be exact instead of
        the index's search (the load benchmark's catalogues).
        """
        return cls(
            model=ModelConfig(dim=32, num_layers=2),
            encoder=EncoderConfig(text_backend="static", use_image=False, text_max_length=64),
            epochs=30,
            batch_size=8192,
            sampled_negatives=1024,
            lr=1e-2,
            eval_every=2,
            patience=3,
            max_seconds=30.0,
            threads=1,
            item_item=False,
        )

    @property
    def cosine(self) -> bool:
        """Whether scores are cosines (final vectors are stored unit-normalised)."""
        return self.loss == "softmax" and self.similarity == "cosine"

    def with_changes(self, **changes: Any) -> TrainConfig:
        """Copy with top-level fields replaced; ``model=``/``encoder=`` take dicts too."""
        for key in ("model", "encoder"):
            value = changes.get(key)
            if isinstance(value, dict):
                changes[key] = replace(getattr(self, key), **value)
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of ``to_dict``; unknown keys are an error so typos do not pass silently."""
        data = dict(data)
        model = _build(ModelConfig, data.pop("model", {}))
        encoder = _build(EncoderConfig, data.pop("encoder", {}))
        top = _build(cls, data, extra={"model": model, "encoder": encoder})
        return top


def _build(kind: type, data: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    names = {f.name for f in fields(kind)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {kind.__name__} keys {unknown}; valid: {sorted(names)}")
    return kind(**data, **(extra or {}))
