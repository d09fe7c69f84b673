"""Every registered model trains one step on a tiny graph; the registry rejects unknown names."""

from __future__ import annotations

import pytest
import torch

from kgrec.errors import ConfigError
from models.config import ModelConfig, TrainConfig
from models.data import RecDataset
from models.data.rec_graph import RecGraph
from models.gnn import MODELS, build_model
from models.training.trainer import _loss


def _features(n: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return {
        "text": (torch.randn(n, 12, generator=g), torch.ones(n, dtype=torch.bool)),
        "image": (torch.randn(n, 7, generator=g), torch.arange(n) % 2 == 0),
    }


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_every_model_trains_one_step(name: str, loss: str, tiny_dataset: RecDataset) -> None:
    torch.manual_seed(0)
    config = TrainConfig(
        model=ModelConfig(name=name, dim=8, num_layers=2, min_entity_degree=1), loss=loss
    )
    graph = RecGraph.build(tiny_dataset, min_entity_degree=1)
    model = build_model(graph, {"text": 12, "image": 7}, config.model)
    model.set_features(_features(tiny_dataset.num_items))
    users, items, entities = model()
    assert users.shape == (tiny_dataset.num_users, 8)
    assert items.shape == (tiny_dataset.num_items, 8)
    assert entities.shape == (graph.num_entities, 8)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    batch = torch.from_numpy(tiny_dataset.train)
    loss_value = _loss(model, config, batch[:, 0], batch[:, 1], torch.Generator().manual_seed(0))
    assert torch.isfinite(loss_value)
    opt.zero_grad()
    loss_value.backward()
    opt.step()
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert "user_emb.weight" in changed
    assert any(k.startswith("fusion.") for k in changed)


def test_unknown_model_lists_valid_names(tiny_dataset: RecDataset) -> None:
    graph = RecGraph.build(tiny_dataset)
    with pytest.raises(ConfigError, match="lightgcn"):
        build_model(graph, {}, ModelConfig(name="nope"))


def test_config_round_trip_and_unknown_keys() -> None:
    config = TrainConfig.small().with_changes(model={"name": "rgcn"}, epochs=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="epoch"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="softmax"):
        TrainConfig(loss="hinge")
