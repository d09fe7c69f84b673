"""Settings for the whole test session, before any test module imports grpc."""

import os
import sys
from collections.abc import Iterator

import pytest

import kgrec  # noqa: F401 - sets GRPC_ENABLE_FORK_SUPPORT before grpc is imported (grpc#43055)

# the servers tests start (``kgrec serve`` children inherit it) fill the static token table
# as words come: computing all 30,522 tokens takes ~15 s per fresh data dir. The full table's
# own path is tested on a tiny model (tests/server/test_preload.py).
os.environ.setdefault("KGREC_TOKEN_TABLE", "off")


@pytest.fixture(autouse=True)
def _minilm_inference_dtype_per_test() -> Iterator[None]:
    """A pipeline built in one test sets the process's MiniLM inference dtype (the builder's
    ``encoder_dtype``); the next test starts from float32 again, as a fresh process does."""
    yield
    minilm = sys.modules.get("kgrec.minilm")
    if minilm is not None:
        minilm.set_inference_dtype("float32")
