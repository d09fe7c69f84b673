"""What ``kgrec serve`` shows while it starts: one line as each stage begins and one with its
time as it ends; on a terminal the stage's own progress bar is the only other display (the
stage's chatty INFO lines held back, other log lines printed above the bar); no Hugging Face
"Loading weights" bars."""

from __future__ import annotations

import io
import logging
import os
import sys

import pytest

from server import serve


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_stage() -> None:
    with serve.stage("training a small model", quiet=("models",)) as notes:
        logging.getLogger("models.training.trainer").info("epoch {'epoch': 1, 'loss': 6.07}")
        logging.getLogger("kg.embedded").info("something else happened")
        notes.append("saved m1")


def test_on_a_terminal_the_stage_lines_and_the_bar_are_all_there_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        _run_stage()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = tty.getvalue().splitlines()
    assert lines[0] == "server.serve training a small model ..."
    assert "kg.embedded something else happened" in lines  # printed above the bar
    assert not any("epoch" in line for line in lines)  # the bar shows the epochs
    assert lines[-1].startswith("server.serve training a small model: done in ")
    assert lines[-1].endswith(" s; saved m1")
    assert handler.stream is tty  # the handler writes straight to the terminal again
    assert logging.getLogger("models").level == logging.NOTSET  # and the level is restored


def test_in_a_log_file_every_line_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = io.StringIO()  # not a terminal: no bars, so the epoch lines are the progress
    monkeypatch.setattr(sys, "stderr", log_file)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        _run_stage()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out = log_file.getvalue()
    assert "models.training.trainer epoch {'epoch': 1, 'loss': 6.07}" in out
    assert "training a small model: done in " in out


def test_hugging_face_loading_bars_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers.utils import logging as hf_logging

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hf_logging.enable_progress_bar()
    try:
        serve.quiet_library_progress()
        assert not hf_logging.is_progress_bar_enabled()
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    finally:
        hf_logging.enable_progress_bar()
