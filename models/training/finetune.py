"""``kgrec train --since CHECKPOINT``: fine-tune a trained GNN on the graph as it is now.

Feedback events (``Feedback`` RPC) are stored in the graph as ``INTERACTED`` edges, next to the
imported interactions, so "the interactions plus the events logged since the checkpoint" is
every ``INTERACTED`` edge the graph holds now. :func:`graph_rows` reads them with the
catalogue (through :func:`kg.export.export_graph`, the graph's one full read), and
:func:`fine_tune` continues training from the checkpoint's weights on them:

* the model, loss and encoders are the checkpoint's (its ``TrainConfig``); only the budget
  changes: :data:`DEFAULT_EPOCHS` epochs, no held-out split (every event is trained on, so
  there is no early stopping), no time cap unless given;
* rows are matched by id: a user, item or KG entity the checkpoint knows starts from its
  trained row; a new one (a shopper or product added since) starts as a fresh training run
  starts it (``N(0, 0.1)``), and the graph propagation moves it towards what it is linked to
  (a new user's events, a new item's brand/category/attributes) from the first epoch; the
  fusion and other weights are copied as they are. The embedding tables grow to the graph's
  size; ids that disappeared (forgotten users, removed products) are dropped;
* a checkpoint with an item-item term (``models.training.item_item``) keeps it, refitted on
  every event with the lambda and weight chosen when it was trained;
* the new checkpoint gets a new version (``kgrec-<model>-ft-<time>-<hash>``, newer
  ``created``), goes to the model dir where ``AdminService/ReloadModel`` (``kgrec admin
  reload``) and SIGHUP find it, and ``meta.json`` names its origin (``fine_tuned_from``) and
  how many events came after it (``events_since``).

Only GNN checkpoints can be fine-tuned (a conversational scorer is refitted with ``kgrec train
--conversations``), with the same content features they were trained with.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kg.export import export_graph
from kg.schema import HAS_ATTRIBUTE, HAS_BRAND, IN_CATEGORY, INTERACTED, PRODUCT
from kg.store import GraphStore
from kg.types import InteractionRow, ProductRow, TripleRow
from kgrec.errors import ConfigError
from models.data.rec_dataset import RecDataset
from models.data.rec_graph import RecGraph
from models.gnn import GraphRecommender
from models.training.checkpoint import META, Checkpoint
from models.training.item_item import ItemItem
from models.training.trainer import TrainResult, train_model

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_EPOCHS", "GraphRows", "fine_tune", "graph_rows"]

#: Epochs of a fine-tune (a full ``kgrec train`` runs up to 30 with ``--preset small``).
DEFAULT_EPOCHS = 5

_PRODUCT_PROPS = ("title", "description", "price", "currency", "image_ref", "aliases")


@dataclass(frozen=True, slots=True)
class GraphRows:
    """The graph's catalogue, interactions (feedback events included) and other KG links."""

    products: list[ProductRow]
    interactions: list[InteractionRow]
    triples: list[TripleRow]


def graph_rows(store: GraphStore) -> GraphRows:
    """Every product (with its brand, category and attribute ids), every ``INTERACTED`` edge
    and every other product/entity link of ``store``, in the rows ``RecDataset.from_rows``
    reads."""
    with tempfile.TemporaryDirectory(prefix="kgrec-finetune-") as tmp:
        path = export_graph(store, Path(tmp) / "graph.jsonl").path
        products: dict[str, dict[str, Any]] = {}
        interactions: list[InteractionRow] = []
        triples: list[TripleRow] = []
        with path.open(encoding="utf-8") as f:
            next(f)  # the format header
            for line in f:
                obj = json.loads(line)
                if "node" in obj:
                    node = obj["node"]
                    if node["label"] == PRODUCT:
                        props = node["props"]
                        row = {k: props[k] for k in _PRODUCT_PROPS if props.get(k) is not None}
                        products[node["id"]] = {"id": node["id"], "title": "", **row}
                    continue
                rel = obj["rel"]
                kind, start, end, props = rel["type"], rel["start"], rel["end"], rel["props"]
                if kind == INTERACTED:
                    value = props.get("value")
                    interactions.append(
                        InteractionRow(
                            user_id=start,
                            item_id=end,
                            type=str(props.get("type", "")),
                            value=float("nan") if value is None else float(value),
                            ts=float(props.get("ts") or 0.0),
                            event_id=str(props.get("event_id", "")),
                        )  # fmt: skip
                    )
                elif kind == HAS_BRAND and start in products:
                    products[start]["brand_id"] = end
                elif kind == IN_CATEGORY and start in products:
                    products[start]["category_id"] = end
                elif kind == HAS_ATTRIBUTE and start in products:
                    products[start].setdefault("attribute_ids", []).append(end)
                else:  # imported KG links (and the category tree)
                    triples.append(TripleRow(head=start, relation=kind, tail=end))
    return GraphRows(list(products.values()), interactions, triples)  # type: ignore[arg-type]


def _copy_rows(
    table: torch.nn.Embedding | None, old: torch.Tensor | None, old_ids: list[str], ids: list[str]
) -> tuple[int, int]:
    """Copy the trained row of every id ``table`` shares with the checkpoint; returns
    ``(copied, new)``. New ids keep the table's fresh initialisation."""
    if table is None or old is None or old.dim() != 2 or old.shape[1] != table.weight.shape[1]:
        return 0, len(ids)
    where = {i: r for r, i in enumerate(old_ids) if r < len(old)}
    pairs = [(row, where[i]) for row, i in enumerate(ids) if i in where]
    if pairs:
        rows, old_rows = (torch.tensor(x) for x in zip(*pairs, strict=True))
        with torch.no_grad():
            table.weight[rows] = old[old_rows].to(table.weight.dtype)
    return len(pairs), len(ids) - len(pairs)


def _init_from(checkpoint: Checkpoint, dataset: RecDataset) -> Any:
    def init(model: GraphRecommender, graph: RecGraph) -> None:
        state = checkpoint.state_dict
        counts: dict[str, tuple[int, int]] = {}
        for name, table, old_ids, ids in (
            ("users", model.user_emb, checkpoint.user_ids, dataset.user_ids),
            ("items", model.item_emb, checkpoint.item_ids, dataset.item_ids),
            ("entities", model.entity_emb, checkpoint.entity_ids, graph.entity_ids),
        ):
            if table is None:  # items from content alone: no id table to grow
                continue
            key = {"users": "user_emb", "items": "item_emb", "entities": "entity_emb"}[name]
            counts[name] = _copy_rows(table, state.get(f"{key}.weight"), old_ids, list(ids))
        own = model.state_dict()
        tables = {"user_emb.weight", "item_emb.weight", "entity_emb.weight"}
        rest = {
            k: v for k, v in state.items()
            if k not in tables and k in own and own[k].shape == v.shape
        }  # fmt: skip
        skipped = sorted(k for k in state if k not in tables and k not in rest)
        model.load_state_dict({**own, **rest})
        if skipped:
            logger.warning("fine-tune: weights not carried over (shape changed): %s", skipped)
        logger.info(
            "fine-tune from %s: %s",
            checkpoint.version,
            ", ".join(f"{n} {c} kept / {k} new" for n, (c, k) in counts.items()),
        )

    return init


def fine_tune(
    since: Path | str,
    rows: GraphRows,
    out_dir: Path | str,
    *,
    epochs: int = DEFAULT_EPOCHS,
    lr: float | None = None,
    max_seconds: float | None = None,
    image_root: Path | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Continue training the GNN checkpoint ``since`` on ``rows`` and save the result under
    ``out_dir/<new version>`` (see the module docs)."""
    since = Path(since)
    if not (since / META).exists():
        raise ConfigError(f"--since {since}: not a checkpoint folder (no {META})")
    checkpoint = Checkpoint.load(since)
    kind = checkpoint.extra.get("kind", "gnn")
    if kind != "gnn":
        raise ConfigError(
            f"--since {since}: a {kind!r} model; only GNN checkpoints can be fine-tuned"
        )
    if epochs < 1:
        raise ConfigError(f"--epochs {epochs}: must be at least 1")
    dataset = RecDataset.from_rows(
        rows.products, rows.interactions, rows.triples, image_root, split=(0.0, 0.0),
        seed=checkpoint.config.seed, name="graph",
    )  # fmt: skip
    if len(dataset.train) == 0:
        raise ConfigError("the graph holds no positive interactions to fine-tune on")
    encoder: dict[str, Any] = {"cache_dir": str(cache_dir)} if cache_dir else {}
    term = ItemItem.from_tensors(checkpoint.tensors, checkpoint.extra)
    kept: dict[str, Any] = {"item_item": False}  # refitted on every event, with its choice
    if term is not None:
        kept = {"item_item_lambdas": (term.lam,), "item_item_weights": (term.weight,)}
    config = checkpoint.config.with_changes(
        epochs=epochs,
        max_seconds=max_seconds,
        **({"lr": lr} if lr is not None else {}),
        encoder=encoder,
        **kept,
    )
    since_events = sum(1 for r in rows.interactions if r.get("ts", 0.0) > checkpoint.created)
    logger.info("fine-tune: %s; %d events since %s", dataset.summary(), since_events, since.name)
    result = train_model(
        dataset, config, out_dir, progress=progress, init=_init_from(checkpoint, dataset),
        version_tag="ft",
        extra={"fine_tuned_from": checkpoint.version, "events_since": since_events},
    )  # fmt: skip
    dims = result.checkpoint.feature_dims
    if dims != checkpoint.feature_dims:  # the fusion was not carried over: say so loudly
        logger.warning(
            "fine-tune: content features %s differ from the checkpoint's %s",
            dims,
            checkpoint.feature_dims,
        )
    return result
