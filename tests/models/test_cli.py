"""``kgrec train`` / ``kgrec evaluate`` argument handling and the MovieLens loader."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from models.cli import (
    add_evaluate_parser,
    add_train_parser,
    build_config,
    load_dataset,
    metrics_table,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_evaluate_parser(sub)
    return parser


def test_config_layers_preset_file_and_flags(tmp_path: Path) -> None:
    file = tmp_path / "cfg.json"
    file.write_text(json.dumps({"lr": 0.5, "epochs": 7}))
    args = _parser().parse_args(
        [
            "train",
            "--preset",
            "small",
            "--config",
            str(file),
            "--epochs",
            "9",
            "--no-kg",
            "--no-image",
            "--cold-item-map",
            "--cold-item-scale",
            "0.7",
        ]
    )
    config = build_config(args)
    assert config.cold_item_map and config.cold_item_scale == 0.7
    assert not build_config(_parser().parse_args(["train"])).cold_item_map
    assert build_config(_parser().parse_args(["train"])).item_item
    assert not build_config(_parser().parse_args(["train", "--no-item-item"])).item_item
    assert config.lr == 0.5  # from the file
    assert config.epochs == 9  # the flag wins over the file
    assert config.model.dim == 32  # from the preset
    assert not config.model.use_kg and not config.encoder.use_image and config.encoder.use_text
    assert args.func.__name__ == "_train"


def test_evaluate_arguments_and_table() -> None:
    args = _parser().parse_args(["evaluate", "--split", "valid", "--json"])
    assert args.split == "valid" and args.json and args.func.__name__ == "_evaluate"
    table = metrics_table({"recall@5": 0.5, "ndcg@10": 0.25, "rmse": 1.0})
    assert "0.5000" in table and "0.2500" in table and "rmse" in table


@pytest.mark.data
@pytest.mark.skipif(not (DATA / "movielens-100k-split").exists(), reason="needs ../shared/data")
def test_movielens_loader_matches_the_split_readme() -> None:
    ns = argparse.Namespace(data=DATA, split_dir=None, kg_dir=None, side_dir=None)
    ds = load_dataset(ns)
    assert (ds.num_users, ds.num_items) == (938, 1447)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (44191, 5585, 5585)
    assert len(ds.item_entity) > 0 and len(ds.relations) == 24
    assert sum(p is not None for p in ds.item_images) > 1300
    assert "Toy Story" in ds.item_texts[ds.item_ids.index("1")]
