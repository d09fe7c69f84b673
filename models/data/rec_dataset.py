"""Users, items, KG entities, the train/valid/test split and the raw item side information."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.types import InteractionRow, ProductRow, TripleRow
from kgrec.domain import EventType, is_positive
from kgrec.errors import InvalidInputError
from models.config import EncoderConfig
from models.data._text import product_text
from models.encoders import ItemFeatures, rating_features

logger = logging.getLogger(__name__)

__all__ = ["RecDataset"]

#: Interactions that do not say the user wants the item.


@dataclass(slots=True)
class RecDataset:
    """Everything a recommender trains on, indexed by position.

    Attributes:
        user_ids, item_ids, entity_ids, relations: external ids; index ``i`` of a tensor
            means ``item_ids[i]`` and so on.
        train, valid, test: ``(n, 2)`` int64 ``[user, item]`` positive pairs (disjoint).
        item_entity: ``(m, 3)`` int64 ``[item, relation, entity]`` KG edges of items.
        entity_entity: ``(k, 3)`` int64 ``[head, relation, tail]`` edges between entities.
        item_texts: text per item (empty string: no text).
        item_images: image file per item (``None``: no image).
        rating_rows: ``(item, value, ts)`` arrays from the *training* interactions only
            (``value`` NaN for a non-rating event), for the rating features.
        pair_ratings: ``{"train"|"valid"|"test": (n,) float}`` explicit rating of each pair
            (NaN where the interaction was not a rating); empty when unknown.
    """

    name: str
    user_ids: list[str]
    item_ids: list[str]
    entity_ids: list[str]
    relations: list[str]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    item_entity: np.ndarray
    entity_entity: np.ndarray
    item_texts: list[str]
    item_images: list[Path | None]
    rating_rows: tuple[np.ndarray, np.ndarray, np.ndarray]
    item_titles: list[str] = field(default_factory=list)
    pair_ratings: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_entities(self) -> int:
        return len(self.entity_ids)

    def summary(self) -> str:
        return (
            f"{self.name}: {self.num_users} users, {self.num_items} items, "
            f"{self.num_entities} entities, {len(self.relations)} relations, "
            f"train/valid/test {len(self.train)}/{len(self.valid)}/{len(self.test)}, "
            f"KG edges {len(self.item_entity)} item-entity"
            f" + {len(self.entity_entity)} entity-entity"
        )

    def fingerprint(self) -> str:
        """Stable hash of ids and splits (resuming checks it is the same data)."""
        h = hashlib.sha256()
        for part in (self.user_ids, self.item_ids, self.entity_ids):
            h.update("\x00".join(part).encode())
        for arr in (self.train, self.valid, self.test, self.item_entity, self.entity_entity):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ features

    def item_features(
        self, config: EncoderConfig, *, device: str = "cpu", progress: bool = False
    ) -> ItemFeatures:
        """Run the frozen encoders the config enables (cached on disk)."""
        from models.encoders import ImageEncoder, TextEncoder

        cache_dir = config.cache_dir or str(Path("~/.cache/kgrec/embeddings").expanduser())
        feats = ItemFeatures(self.num_items)
        if config.use_text:
            encoder = TextEncoder(
                max_length=config.text_max_length,
                batch_size=config.text_batch_size,
                device=device,
                cache_dir=cache_dir,
                backend=config.text_backend,
            )
            has_text = np.array([bool(t.strip()) for t in self.item_texts])
            x = encoder.encode(self.item_texts, progress=progress)
            x[~has_text] = 0.0
            feats.add("text", x, has_text)
        if config.use_image:
            image_encoder = ImageEncoder(
                image_size=config.image_size,
                batch_size=config.image_batch_size,
                device=device,
                cache_dir=cache_dir,
            )
            x, mask = image_encoder.encode(
                [_read_bytes(p) for p in self.item_images], progress=progress
            )
            feats.add("image", x, mask)
        if config.use_rating:
            items, values, ts = self.rating_rows
            x, mask = rating_features(self.num_items, items, values, ts)
            feats.add("rating", x, mask)
        logger.info("item feature coverage: %s", feats.coverage())
        return feats

    # ------------------------------------------------------------------ builders

    @classmethod
    def from_rows(
        cls,
        products: Sequence[ProductRow],
        interactions: Sequence[InteractionRow],
        triples: Sequence[TripleRow],
        image_root: Path | None,
        split: tuple[float, float] = (0.1, 0.0),
        *,
        seed: int = 2026,
        name: str = "rows",
    ) -> RecDataset:
        """Build from graph rows (the demo store or any importer's output).

        Positives are the interactions :func:`kgrec.domain.is_positive` calls positive (clicks,
        carts, purchases, likes; ratings of 4 or more). ``split = (valid fraction, test
        fraction)`` is applied per user with at least 3 positives (shuffled with ``seed``); the
        rest is training data.
        Triples whose head or tail is a product become item-entity edges; other triples
        entity-entity edges; ``brand_id``/``category_id``/``attribute_ids`` of the rows add
        item-entity edges too (de-duplicated). ``image_ref`` is read under ``image_root``.
        """
        if not products:
            raise InvalidInputError("products", "no products to train on")
        item_ids = [p["id"] for p in products]
        item_index = {pid: i for i, pid in enumerate(item_ids)}
        if len(item_index) != len(item_ids):
            raise InvalidInputError("products", "duplicate product ids")

        pairs: dict[tuple[str, str], tuple[float, float]] = {}
        for row in interactions:
            if row["item_id"] not in item_index:
                continue
            kind = row["type"]
            value = float(row.get("value", float("nan")))
            if not is_positive(kind, value):
                continue
            rating = value if kind == EventType.RATING else float("nan")
            pairs[(row["user_id"], row["item_id"])] = (rating, float(row.get("ts", 0.0)))
        user_ids = sorted({u for u, _ in pairs})
        user_index = {u: i for i, u in enumerate(user_ids)}
        by_user: dict[int, list[int]] = {}
        for user, item in pairs:
            by_user.setdefault(user_index[user], []).append(item_index[item])
        rs = np.random.RandomState(seed)
        train: list[tuple[int, int]] = []
        valid: list[tuple[int, int]] = []
        test: list[tuple[int, int]] = []
        valid_frac, test_frac = split
        for u in sorted(by_user):
            items = np.array(sorted(by_user[u]), dtype=np.int64)
            n_valid = n_test = 0
            if len(items) >= 3:
                rs.shuffle(items)
                n_valid = max(1, round(valid_frac * len(items))) if valid_frac > 0 else 0
                n_test = max(1, round(test_frac * len(items))) if test_frac > 0 else 0
            n_train = len(items) - n_valid - n_test
            train += [(u, int(i)) for i in items[:n_train]]
            valid += [(u, int(i)) for i in items[n_train : n_train + n_valid]]
            test += [(u, int(i)) for i in items[n_train + n_valid :]]

        rating_rows = _rating_arrays([(i, *pairs[(user_ids[u], item_ids[i])]) for u, i in train])

        edges: list[tuple[str, str, str]] = [(t["head"], t["relation"], t["tail"]) for t in triples]
        for p in products:
            if p.get("brand_id"):
                edges.append((p["id"], "brand", p["brand_id"] or ""))
            if p.get("category_id"):
                edges.append((p["id"], "category", p["category_id"] or ""))
            edges += [(p["id"], "attribute", a) for a in p.get("attribute_ids", [])]
        entity_ids, relations, item_entity, entity_entity = _index_triples(edges, item_index)

        texts = [product_text(p) for p in products]
        images = [_resolve_image(image_root, p.get("image_ref", "")) for p in products]
        return cls(
            name=name,
            user_ids=user_ids,
            item_ids=item_ids,
            entity_ids=entity_ids,
            relations=relations,
            train=_pairs(train),
            valid=_pairs(valid),
            test=_pairs(test),
            item_entity=item_entity,
            entity_entity=entity_entity,
            item_texts=texts,
            item_images=images,
            rating_rows=rating_rows,
            item_titles=[p["title"] for p in products],
            pair_ratings={
                name: np.array([pairs[(user_ids[u], item_ids[i])][0] for u, i in rows])
                for name, rows in (("train", train), ("valid", valid), ("test", test))
            },
        )


def _pairs(rows: list[tuple[int, int]]) -> np.ndarray:
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _rating_arrays(
    rows: list[tuple[int, float, float]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not rows:
        return (np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    items, values, ts = zip(*rows, strict=True)
    return (np.array(items, np.int64), np.array(values, np.float64), np.array(ts, np.float64))


def _index_triples(
    edges: Sequence[tuple[str, str, str]], item_index: dict[str, int]
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Split ``(head, relation, tail)`` into item-entity and entity-entity index arrays."""
    entity_index: dict[str, int] = {}
    relation_index: dict[str, int] = {}
    item_entity: set[tuple[int, int, int]] = set()
    seen_item_entity: set[tuple[int, int]] = set()
    entity_entity: set[tuple[int, int, int]] = set()

    def ent(node: str) -> int:
        return entity_index.setdefault(node, len(entity_index))

    for head, rel, tail in edges:
        if not head or not tail:
            continue
        h_item, t_item = head in item_index, tail in item_index
        if h_item and t_item:
            continue  # item-item links are not used
        r = relation_index.setdefault(rel, len(relation_index))
        if h_item or t_item:
            item, other = (item_index[head], tail) if h_item else (item_index[tail], head)
            e = ent(other)
            if (item, e) not in seen_item_entity:
                seen_item_entity.add((item, e))
                item_entity.add((item, r, e))
        else:
            entity_entity.add((ent(head), r, ent(tail)))
    return (
        list(entity_index),
        list(relation_index),
        np.array(sorted(item_entity), dtype=np.int64).reshape(-1, 3),
        np.array(sorted(entity_entity), dtype=np.int64).reshape(-1, 3),
    )


def _resolve_image(root: Path | None, ref: str) -> Path | None:
    if not ref or root is None or "://" in ref:
        return None
    path = (root / ref).resolve()
    return path if path.is_file() else None


def _read_bytes(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as e:
        logger.warning("cannot read image %s: %s", path, e)
        return None
