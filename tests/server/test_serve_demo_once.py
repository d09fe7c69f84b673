"""``kgrec serve`` start-up generates the demo once: the demo the loader just wrote into the
graph is the one the first model trains on; a restart that finds the graph loaded but no
checkpoint generates it itself. Real embedded FalkorDB and demo load; training is replaced by a
recorder that stops the start-up right after it sees its dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kg.demo
import kg.demo.loader
import models.training
from models.data import RecDataset
from server.serve import build_runtime
from server.settings import Settings


class _Trained(Exception):
    """Raised by the fake ``train``: the rest of the start-up is not under test."""


def test_first_start_generates_the_demo_once_and_a_restart_generates_it_for_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated: list[dict[str, Any]] = []
    trained_on: list[RecDataset] = []
    real_generate = kg.demo.generate_demo

    def counting_generate(**kwargs: Any) -> kg.demo.DemoData:
        generated.append(kwargs)
        return real_generate(**kwargs)

    def fake_train(dataset: RecDataset, *args: Any, **kwargs: Any) -> Path:
        trained_on.append(dataset)
        raise _Trained

    # both places that generate: the loader (bound at import) and serve (imports at call time)
    monkeypatch.setattr(kg.demo.loader, "generate_demo", counting_generate)
    monkeypatch.setattr(kg.demo, "generate_demo", counting_generate)
    monkeypatch.setattr(models.training, "train", fake_train)
    settings = Settings().replace(
        data_dir=tmp_path, demo_products=60, demo_users=20, train_model=True, token_table=False
    )
    expected = {"seed": settings.seed, "n_products": 60, "n_users": 20}

    with pytest.raises(_Trained):
        build_runtime(settings)  # first start: empty graph, no checkpoint
    assert generated == [expected]
    assert len(trained_on) == 1 and trained_on[0].num_items == 60

    generated.clear()
    with pytest.raises(_Trained):
        build_runtime(settings)  # restart: graph loaded, still no checkpoint
    assert generated == [expected]
    assert len(trained_on) == 2
    # what loading did to the rows does not change what the model learns from
    assert trained_on[0].fingerprint() == trained_on[1].fingerprint()
