"""The contract the pipeline codes against, the registry, and the embedded parser end to end
with a tiny random encoder and a head trained in the test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from intent_testdata import TRAIN

from kgrec.domain import IntentType
from kgrec.errors import ConfigError
from models.intent import (
    PARSERS,
    EmbeddedIntentParser,
    Intent,
    IntentConfig,
    IntentParser,
    Mention,
    PriceConstraint,
    Reference,
    make_parser,
)
from models.intent import intent as intent_module
from models.intent._encoder import SentenceEncoder
from models.intent._features import FEATURE_NAMES
from models.intent.classifier import IntentClassifier


def test_registry_names_and_unknown_name() -> None:
    assert set(PARSERS) == {"embedded", "llm-local", "llm-remote", "hybrid"}
    assert all(issubclass(cls, IntentParser) for cls in PARSERS.values())
    with pytest.raises(ConfigError) as e:
        make_parser("gpt-9", IntentConfig())
    for name in PARSERS:
        assert name in str(e.value)


def test_the_registry_is_explicit_not_served_lazily_by_the_contract_module() -> None:
    # the contract module imports no backend (no circle through a module __getattr__)
    from models.intent import registry

    assert (PARSERS, make_parser) == (registry.PARSERS, registry.make_parser)
    assert not hasattr(intent_module, "PARSERS")
    assert not hasattr(intent_module, "make_parser")


def test_dataclasses_are_frozen_with_documented_defaults() -> None:
    i = Intent(type=IntentType.OTHER)
    assert (i.mentions, i.price, i.references, i.confidence, i.backend, i.clear_constraints) == (
        (),
        None,
        (),
        1.0,
        "embedded",
        False,
    )
    m = Mention("Nike", 4, 8)
    assert (m.negated, m.label_hint, m.entity_id) == (False, None, None)
    assert Reference("ordinal", 1).negated is False
    assert PriceConstraint(max=80.0).as_range().contains(79.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        i.type = IntentType.REFINE  # type: ignore[misc]


def test_embedded_parses_and_fits_its_training_set(tiny_parser) -> None:

    prev = Intent(type=IntentType.RECOMMEND)
    for message, kind, has_prev in TRAIN:
        got = tiny_parser.parse(message, previous=prev if has_prev else None)
        assert isinstance(got, Intent)
        assert got.type == kind, message
        assert got.backend == "embedded"
        assert 0.0 < got.confidence <= 1.0


def test_embedded_fills_slots(tiny_parser) -> None:
    got = tiny_parser.parse("not Nike, something like the second one under 80 bucks")
    assert [(m.text, m.negated, m.entity_id) for m in got.mentions] == [
        ("Nike", True, "brand:nike")
    ]
    assert got.references == (Reference("similar", 1),)
    assert got.price == PriceConstraint(max=80.0, currency="USD")


def test_empty_message_is_other(tiny_parser) -> None:
    assert tiny_parser.parse("   ").type == IntentType.OTHER


def test_head_round_trips_through_json(tmp_path, tiny_parser) -> None:
    clf = tiny_parser.classifier
    clf.save(tmp_path / "head.json")
    back = IntentClassifier.load(tmp_path / "head.json")
    x = np.linspace(-1, 1, clf.weight.shape[1] - len(FEATURE_NAMES)).astype(np.float32)
    f = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    np.testing.assert_allclose(clf.predict_proba(x, f), back.predict_proba(x, f), atol=1e-4)
    assert back.labels == clf.labels


def test_missing_head_is_a_config_error(tmp_path, tiny_encoder_dir) -> None:
    cfg = IntentConfig(encoder_path=str(tiny_encoder_dir), head_path=str(tmp_path / "no.json"))
    with pytest.raises(ConfigError, match="models.intent.train"):
        EmbeddedIntentParser(cfg).parse("hi")


def test_encoder_layer_cut(tiny_encoder_dir) -> None:
    full = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    cut = SentenceEncoder(str(tiny_encoder_dir), cache_size=0, layers=1)
    assert (full.layers, cut.layers) == (2, 1)
    a, b = full.encode("show me red shoes"), cut.encode("show me red shoes")
    assert a.shape == b.shape == (32,)
    assert not np.allclose(a, b)
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5
    with pytest.raises(ConfigError):
        SentenceEncoder(str(tiny_encoder_dir), layers=5)


def test_head_and_encoder_must_agree(tiny_encoder_dir, tiny_parser, lexicon) -> None:
    clf = dataclasses.replace(tiny_parser.classifier, encoder_layers=1)
    cfg = IntentConfig(encoder_path=str(tiny_encoder_dir), encoder_layers=2)
    with pytest.raises(ConfigError, match="encoder layers"):
        EmbeddedIntentParser(cfg, lexicon, classifier=clf).parse("hi")


def test_intent_vectors_in_bfloat16_stay_close_and_keep_the_float32_weights(
    tiny_encoder_dir,
) -> None:
    """A server on a bfloat16 CPU runs the intent encoder's forward in bfloat16 on a copy;
    the float32 model (the one the head is trained with) is untouched."""
    import torch

    from kgrec import minilm

    enc = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    texts = ["red running shoes under 100", "not Nike, something for my dad"]
    full = enc.encode_batch(texts)
    minilm.set_inference_dtype("bfloat16")
    half = enc.encode_batch(texts)
    assert next(enc._model.parameters()).dtype == torch.float32
    assert (full * half).sum(axis=1).min() >= 0.99
    minilm.set_inference_dtype("float32")
    np.testing.assert_array_equal(enc.encode_batch(texts), full)


def test_a_static_head_reads_the_static_token_table(tiny_encoder_dir, lexicon) -> None:
    """A head trained on the static table's vectors gets them at parse time: the process's
    shared table for the encoder path (the linker's), not a transformer forward."""
    from kg.linking import StaticMiniLMEncoder
    from models.intent._encoder import StaticSentenceEncoder

    static = StaticSentenceEncoder(str(tiny_encoder_dir))
    assert (static.kind, static.layers, static.dim) == ("static", None, 32)
    cfg = IntentConfig(encoder_path=str(tiny_encoder_dir), embedding_cache=0)
    slot_parser = EmbeddedIntentParser(cfg, lexicon, encoder=static)
    prev = Intent(type=IntentType.RECOMMEND)
    feats = np.stack(
        [
            slot_parser.features(m, slot_parser.extract_slots(m), prev if p else None)
            for m, _, p in TRAIN
        ]
    )
    emb = static.encode_batch([m for m, _, _ in TRAIN])
    head = IntentClassifier.fit(
        emb,
        feats,
        [t for _, t, _ in TRAIN],
        feature_names=FEATURE_NAMES,
        l2=1e-4,
        encoder_kind="static",
    )
    parser = EmbeddedIntentParser(cfg, lexicon, classifier=head)  # the encoder from the head
    assert parser.encoder.kind == "static"
    shared = StaticMiniLMEncoder.shared(str(tiny_encoder_dir))
    np.testing.assert_array_equal(
        parser.encoder.encode("show me red shoes"), shared.encode(["show me red shoes"])[0]
    )
    right = sum(parser.parse(m, previous=prev if p else None).type == t for m, t, p in TRAIN)
    assert right >= 0.9 * len(TRAIN)


def test_a_head_and_an_encoder_of_the_other_kind_are_refused(
    tiny_encoder_dir, tiny_parser, lexicon
) -> None:
    static_head = dataclasses.replace(tiny_parser.classifier, encoder_kind="static")
    cfg = IntentConfig(encoder_path=str(tiny_encoder_dir))
    contextual = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    with pytest.raises(ConfigError, match="static vectors"):
        EmbeddedIntentParser(cfg, lexicon, classifier=static_head, encoder=contextual).parse("hi")
    cut = IntentConfig(encoder_path=str(tiny_encoder_dir), encoder_layers=1)
    with pytest.raises(ConfigError, match="encoder_layers applies to a contextual"):
        EmbeddedIntentParser(cut, lexicon, classifier=static_head).parse("hi")


def test_a_head_names_its_encoder_kind_and_older_heads_are_contextual(
    tmp_path, tiny_parser
) -> None:
    import json

    path = tmp_path / "head.json"
    dataclasses.replace(tiny_parser.classifier, encoder_kind="static").save(path)
    assert IntentClassifier.load(path).encoder_kind == "static"
    data = json.loads(path.read_text())
    del data["encoder_kind"]  # as heads saved before the field
    path.write_text(json.dumps(data))
    assert IntentClassifier.load(path).encoder_kind == "contextual"
    data["encoder_kind"] = "sparse"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="encoder_kind 'sparse' is none of static, contextual"):
        IntentClassifier.load(path)


def test_train_takes_layers_only_for_a_contextual_encoder(capsys) -> None:
    from models.intent import train

    with pytest.raises(SystemExit):
        train.main(["--encoder", "static", "--layers", "2"])
    assert "--layers needs --encoder contextual" in capsys.readouterr().err
