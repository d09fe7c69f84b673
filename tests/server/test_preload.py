"""server.preload: the text encoders load in a thread; the graph DB child is spawned early."""

from __future__ import annotations

from pathlib import Path

import pytest

import kg.linking
from kg.linking import StaticMiniLMEncoder
from models.intent._encoder import SentenceEncoder
from server.preload import TextModels, spawn_embedded_graph
from server.settings import Settings


def test_text_models_load_both_encoders(tmp_path: Path) -> None:
    SentenceEncoder._instances.clear()
    models = TextModels(Settings(data_dir=str(tmp_path))).start()
    encoder = models.name_encoder()
    assert isinstance(encoder, StaticMiniLMEncoder)
    assert encoder.encode(["red shoes"]).shape == (1, encoder.dim)
    # the intent parser's encoder is in the shared cache: its first parse loads nothing
    assert [layers for (_, _, layers) in SentenceEncoder._instances] == [3]


def test_a_failed_load_is_raised_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: object) -> StaticMiniLMEncoder:
        raise OSError("weights missing")

    monkeypatch.setattr(kg.linking, "StaticMiniLMEncoder", broken)
    models = TextModels(Settings(data_dir=str(tmp_path), intent_backend="llm")).start()
    with pytest.raises(OSError, match="weights missing"):
        models.name_encoder()


def test_no_child_to_spawn_for_a_graph_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), graph_uri="bolt://localhost:7687")
    assert spawn_embedded_graph(settings) is None
