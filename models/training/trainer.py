"""Training loop: loss, negative sampling, early stopping on validation NDCG@10, resuming."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from models.config import TrainConfig
from models.data.rec_dataset import RecDataset
from models.data.rec_graph import RecGraph
from models.gnn import GraphRecommender, build_model
from models.metrics import full_ranking_metrics, scored_metrics
from models.training.checkpoint import Checkpoint
from models.training.cold_items import cold_item_vectors, fit_cold_map
from models.training.device import resolve_device
from models.training.item_item import blended_scores, item_item_term

logger = logging.getLogger(__name__)

__all__ = ["TrainResult", "resolve_device", "train", "train_model", "valid_curve"]

RESUME_FILE = "_resume.pt"

#: Sets a freshly built model's starting weights (``kgrec train --since``: a checkpoint's);
#: called with the model and its graph before the optimizer is made.
InitModel = Callable[[GraphRecommender, RecGraph], None]


@dataclass(slots=True)
class TrainResult:
    """What :func:`train_model` returns besides the checkpoint."""

    checkpoint_dir: Path
    checkpoint: Checkpoint
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds_per_epoch: float = 0.0
    #: wall seconds of the item features (text/image encoding, or reading their cache), a
    #: one-off cost kept out of the epochs' seconds
    feature_seconds: float = 0.0

    @property
    def valid_curve(self) -> list[dict[str, Any]]:
        """One point per validation: see :func:`valid_curve`."""
        return valid_curve(self.history)


def valid_curve(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The validation points of a run's ``history``: epoch, cumulative optimizer steps,
    cumulative training seconds (the epochs' optimisation only: no validation, no feature
    encoding) and valid NDCG@10, in epoch order. The cost of reaching a valid NDCG
    (``bench.cost``) is read from it; records written before steps were counted lack
    ``steps`` and are left out."""
    return [
        {
            "epoch": r["epoch"],
            "steps": r["steps"],
            "train_seconds": r["train_seconds"],
            "valid_ndcg@10": r["valid_ndcg@10"],
        }
        for r in history
        if "valid_ndcg@10" in r and "steps" in r
    ]


def _full_softmax_loss(u: Tensor, h_items: Tensor, users: Tensor, items: Tensor) -> Tensor:
    """Mean cross-entropy of each pair's item among all items, computing the log-partition
    once per distinct user of the batch.

    With ``c_v`` pairs of user ``v`` in the batch of ``B`` pairs,

    .. math::
        \\frac{1}{B}\\sum_{(u,i)} \\big(\\log\\textstyle\\sum_j e^{s_{uj}} - s_{ui}\\big)
        = \\frac{1}{B}\\Big(\\sum_v c_v \\log\\textstyle\\sum_j e^{s_{vj}}
          - \\sum_{(u,i)} s_{ui}\\Big)

    is the same value (and gradient) as ``cross_entropy(u @ h_items.T, items)`` but costs
    ``(V, I)`` logits instead of ``(B, I)``: a 4096-pair ML-100K batch has ~900 distinct
    users. Shapes: ``u (B, d)`` (already scaled), ``h_items (I, d)``, ``users/items (B,)``.
    """
    distinct, inverse, counts = torch.unique(users, return_inverse=True, return_counts=True)
    first = torch.zeros(len(distinct), dtype=torch.long, device=users.device)
    first.scatter_(0, inverse, torch.arange(len(users), device=users.device))
    log_z = torch.logsumexp(u[first] @ h_items.T, dim=1)  # (V,)
    positive = (u * h_items[items]).sum(-1)  # (B,)
    return ((counts.to(log_z.dtype) * log_z).sum() - positive.sum()) / len(users)


def _loss(
    model: GraphRecommender, config: TrainConfig, users: Tensor, items: Tensor, gen: torch.Generator
) -> Tensor:
    """One mini-batch loss.

    ``softmax``: cross-entropy of the positive among all items (or the positive and
    ``sampled_negatives`` uniform items shared by the batch) with cosine scores,
    :math:`-\\log \\frac{\\exp(\\cos(h_u, h_i)/\\tau)}{\\sum_j \\exp(\\cos(h_u, h_j)/\\tau)}`.
    ``bpr``: :math:`-\\log \\sigma(h_u^\\top h_i - h_u^\\top h_j)` with ``num_negatives``
    uniformly sampled ``j`` per positive. Both add ``reg`` times the L2 of the batch's
    layer-0 free embeddings, divided by the batch size.
    """
    h_users, h_items, _ = model()
    u = h_users[users]
    if config.loss == "softmax":
        norm = (lambda t: nn.functional.normalize(t, dim=-1)) if config.cosine else (lambda t: t)
        u = norm(u) / config.temperature
        m = config.sampled_negatives
        if m is None or m >= h_items.shape[0]:
            loss = _full_softmax_loss(u, norm(h_items), users, items)
        else:
            neg = torch.randint(0, h_items.shape[0], (m,), generator=gen).to(users.device)
            pos = norm(h_items[items])  # (B, d)
            negs = norm(h_items[neg])  # (M, d)
            logits = torch.cat([(u * pos).sum(-1, keepdim=True), u @ negs.T], dim=1)
            # a sampled negative equal to the positive is masked out
            logits[:, 1:] = logits[:, 1:].masked_fill(neg.unsqueeze(0) == items.unsqueeze(1), -1e9)
            loss = nn.functional.cross_entropy(logits, torch.zeros_like(items))
    else:
        neg = torch.randint(
            0, h_items.shape[0], (len(users), config.num_negatives), generator=gen
        ).to(users.device)
        pos_score = (u * h_items[items]).sum(-1, keepdim=True)
        neg_score = (u.unsqueeze(1) * h_items[neg]).sum(-1)
        loss = nn.functional.softplus(neg_score - pos_score).mean()
    return loss + config.reg * model.regularizer(users, items) / len(users)


@torch.no_grad()
def final_embeddings(model: GraphRecommender, config: TrainConfig) -> tuple[Tensor, Tensor, Tensor]:
    """Final user/item/entity vectors in eval mode, unit-normalised for the softmax loss
    (so that the dot product the scorer uses is the cosine the model was trained on)."""
    model.eval()
    users, items, entities = model()
    if config.cosine:
        users, items, entities = (
            nn.functional.normalize(t, dim=-1) for t in (users, items, entities)
        )
    return users, items, entities


def _config_hash(config: TrainConfig, dataset: RecDataset) -> str:
    """Identifies a training trajectory: budget knobs (epochs, patience, time) are left out
    so that a run stopped by its budget can be resumed with a larger one."""
    values = config.to_dict()
    for key in ("epochs", "patience", "max_seconds"):
        values.pop(key)
    for key in [k for k in values if k.startswith("item_item")]:  # chosen after training
        values.pop(key)
    blob = json.dumps(values, sort_keys=True) + dataset.fingerprint()
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def train_model(
    dataset: RecDataset,
    config: TrainConfig,
    out_dir: Path | str,
    *,
    resume: bool = False,
    progress: bool = True,
    init: InitModel | None = None,
    version_tag: str = "",
    extra: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``config.model.name`` on ``dataset`` and write a checkpoint under ``out_dir``.

    ``init`` sets the starting weights (default: random), ``version_tag`` goes into the version
    (``kgrec-<model>-<tag>-<time>-<hash>``) and ``extra`` into ``meta.json`` (a fine-tune from
    a checkpoint, :mod:`models.training.finetune`, names its origin with these)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    previous_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(
            dataset, config, out_dir, device, resume=resume, progress=progress, init=init,
            version_tag=version_tag, extra=extra or {},
        )  # fmt: skip
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    dataset: RecDataset,
    config: TrainConfig,
    out_dir: Path,
    device: torch.device,
    *,
    resume: bool,
    progress: bool,
    init: InitModel | None = None,
    version_tag: str = "",
    extra: dict[str, Any] | None = None,
) -> TrainResult:
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    logger.info("%s", dataset.summary())

    t_features = time.perf_counter()
    features = dataset.item_features(config.encoder, device=str(device), progress=progress)
    feature_seconds = time.perf_counter() - t_features
    graph = RecGraph.build(
        dataset,
        use_kg=config.model.use_kg,
        min_entity_degree=config.model.min_entity_degree,
        kg_edge_weight=config.model.kg_edge_weight,
    )
    model = build_model(graph, features.dims, config.model)
    if init is not None:
        init(model, graph)
    model = model.to(device)
    feature_tensors = features.tensors(device)
    model.set_features(feature_tensors)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    run_hash = _config_hash(config, dataset)
    resume_path = out_dir / RESUME_FILE
    start_epoch, best_ndcg, best_epoch, bad_rounds = 0, -1.0, -1, 0
    best_state: dict[str, Tensor] | None = None
    history: list[dict[str, Any]] = []
    train_seconds = 0.0
    steps = 0  # optimizer steps so far, over every epoch of the run
    if resume and resume_path.exists():
        state = torch.load(resume_path, map_location="cpu", weights_only=False)
        if state.get("run_hash") == run_hash:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start_epoch, best_ndcg, best_epoch = (
                state["epoch"],
                state["best_ndcg"],
                state["best_epoch"],
            )
            bad_rounds, best_state, history = (
                state["bad_rounds"],
                state["best_state"],
                state["history"],
            )
            train_seconds = state["train_seconds"]
            steps = history[-1].get("steps", 0) if history else 0
            logger.info("resuming at epoch %d (best NDCG@10 %.4f)", start_epoch, best_ndcg)
        else:
            logger.warning("ignoring %s: trained with another config or dataset", resume_path)

    pairs = torch.from_numpy(dataset.train)
    has_valid = len(dataset.valid) > 0
    epochs = range(start_epoch, config.epochs)
    bar = None
    if progress:
        from tqdm import tqdm

        what = (
            f"fine-tune {config.model.name}" if init is not None else f"train {config.model.name}"
        )
        bar = tqdm(epochs, desc=what, unit="epoch")
        epochs = bar  # type: ignore[assignment]
    started = time.monotonic()
    stopped_by_budget = False
    for epoch in epochs:
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(pairs), generator=gen)
        total = 0.0
        for start in range(0, len(pairs), config.batch_size):
            batch = pairs[perm[start : start + config.batch_size]].to(device)
            loss = _loss(model, config, batch[:, 0], batch[:, 1], gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            total += float(loss.detach()) * len(batch)
        epoch_seconds = time.perf_counter() - t0
        train_seconds += epoch_seconds
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": total / len(pairs),
            "seconds": epoch_seconds,
            "steps": steps,
            "train_seconds": train_seconds,
        }
        last = epoch + 1 == config.epochs
        out_of_time = (
            config.max_seconds is not None and time.monotonic() - started > config.max_seconds
        )
        if has_valid and ((epoch + 1) % config.eval_every == 0 or last or out_of_time):
            users, items, _ = final_embeddings(model, config)
            metrics = full_ranking_metrics(users, items, dataset.valid, [dataset.train], ks=(10,))
            record["valid_ndcg@10"] = metrics["ndcg@10"]
            record["valid_recall@10"] = metrics["recall@10"]
            if metrics["ndcg@10"] > best_ndcg:
                best_ndcg, best_epoch, bad_rounds = metrics["ndcg@10"], epoch + 1, 0
                best_state = copy.deepcopy(
                    {k: v.detach().cpu() for k, v in model.state_dict().items()}
                )
            else:
                bad_rounds += 1
        history.append(record)
        logger.info("epoch %s", record)
        if bar is not None:
            bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
        if has_valid and "valid_ndcg@10" in record:
            torch.save(
                {
                    "run_hash": run_hash,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch + 1,
                    "best_ndcg": best_ndcg,
                    "best_epoch": best_epoch,
                    "bad_rounds": bad_rounds,
                    "best_state": best_state,
                    "history": history,
                    "train_seconds": train_seconds,
                },
                resume_path,
            )
        if has_valid and bad_rounds >= config.patience:
            logger.info("early stop at epoch %d (best %d: %.4f)", epoch + 1, best_epoch, best_ndcg)
            break
        if out_of_time:
            stopped_by_budget = True
            logger.info("time budget of %.0f s used at epoch %d", config.max_seconds, epoch + 1)
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)

    users, items, entities = final_embeddings(model, config)
    popularity = np.bincount(dataset.train[:, 1], minlength=dataset.num_items).astype(np.float32)
    cold_tensors: dict[str, Tensor] = {}
    if config.cold_item_map:
        items, cold_tensors = _map_cold_items(items, feature_tensors, popularity, config)
    summary: dict[str, Any] = {"best_epoch": best_epoch}
    text = feature_tensors.get("text")
    term, record = item_item_term(config, users, items, dataset.train, dataset.valid, text)
    term_tensors, term_extra = (term.tensors(), term.extra()) if term else ({}, {})
    if record:
        summary["item_item"] = record
    scores_of = blended_scores(users.float().cpu(), items.float().cpu(), term, dataset.train)
    for split, split_pairs, excluded in (
        ("valid", dataset.valid, [dataset.train]),
        ("test", dataset.test, [dataset.train, dataset.valid]),
    ):
        if len(split_pairs) and (split == "test" or has_valid):
            summary[split] = scored_metrics(
                scores_of, dataset.num_users, dataset.num_items, split_pairs, excluded
            )
    n_epochs = len(history)
    seconds_per_epoch = train_seconds / max(n_epochs, 1)
    created = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(created))
    name = f"{config.model.name}-{version_tag}" if version_tag else config.model.name
    version = f"kgrec-{name}-{stamp}-{run_hash}"
    # the same trajectory can finish twice within a second (a cut-short run, then its resume)
    taken = 1
    while (Path(out_dir) / version).exists():
        taken += 1
        version = f"kgrec-{name}-{stamp}-{run_hash}-{taken}"
    checkpoint = Checkpoint(
        version=version,
        config=config,
        user_ids=list(dataset.user_ids),
        item_ids=list(dataset.item_ids),
        entity_ids=list(graph.entity_ids),
        tensors={
            "users": users,
            "items": items,
            "entities": entities,
            "item_popularity": torch.from_numpy(popularity),
            "seen": torch.from_numpy(dataset.train),
            "item_entities": torch.from_numpy(graph.item_entities),
            **cold_tensors,
            **term_tensors,
        },
        state_dict=model.state_dict(),
        feature_dims=features.dims,
        metrics=summary,
        extra={
            "dataset": dataset.name,
            "dataset_fingerprint": dataset.fingerprint(),
            "epochs_trained": n_epochs,
            "seconds_per_epoch": seconds_per_epoch,
            "feature_seconds": feature_seconds,
            "valid_curve": valid_curve(history),
            "layer0_weight": model.layer0_weight,
            "feature_coverage": features.coverage(),
            "history": history,
            **term_extra,
            **(extra or {}),
        },
        created=created,
    )
    path = checkpoint.save(out_dir / version)
    if not stopped_by_budget:
        resume_path.unlink(missing_ok=True)  # finished: nothing to resume
    return TrainResult(path, checkpoint, history, seconds_per_epoch, feature_seconds)


def _map_cold_items(
    items: Tensor,
    features: dict[str, tuple[Tensor, Tensor]],
    popularity: np.ndarray,
    config: TrainConfig,
) -> tuple[Tensor, dict[str, Tensor]]:
    """``config.cold_item_map``: items with text and no training interaction get the ridge
    map's vector (``models.training.cold_items``); returns the item vectors and the map's
    tensors for the checkpoint (none when the model has no text features)."""
    if "text" not in features:
        logger.warning("cold_item_map needs text features; cold items keep their vectors")
        return items, {}
    x, has_text = features["text"]
    has_text = has_text.reshape(len(has_text), -1).any(1).cpu()
    warm = torch.from_numpy(popularity > 0) & has_text
    weight, mu = fit_cold_map(x.cpu()[warm], items.cpu()[warm], config.cold_item_ridge)
    cold = torch.from_numpy(popularity == 0) & has_text
    items = items.clone()
    mapped = cold_item_vectors(x.cpu()[cold], weight, mu, config.cold_item_scale)
    items[cold.to(items.device)] = mapped.to(items.device, items.dtype)
    logger.info("cold_item_map: %d items without interactions mapped from text", int(cold.sum()))
    return items, {"cold_map": weight, "cold_map_mean": mu}


def train(
    dataset: RecDataset,
    config: TrainConfig,
    out_dir: Path | str,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train and return the checkpoint directory (``out_dir/<version>``)."""
    return train_model(dataset, config, out_dir, resume=resume, progress=progress).checkpoint_dir
