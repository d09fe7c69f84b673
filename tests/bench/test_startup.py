"""bench.startup: the timeline it prints, and a real first start and warm restart of a tiny demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.startup import main, timeline
from server.serve_process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]


def test_timeline_lists_log_lines_up_to_serving(tmp_path: Path) -> None:
    srv = ServeProcess(tmp_path)
    srv.spawned_at = 100.0
    srv.output = [
        "2026-12-02 03:10:01,5 INFO kgrec.serve [-] starting kgrec serve\n",
        "a line that is not a log line\n",
        "2026-12-02 03:10:02,1 WARNING server.auth [-] authentication is off\n",
        "2026-12-02 03:10:03,0 INFO server.app [-] pipeline ready: health SERVING\n",
    ]
    srv.output_times = [100.5, 100.6, 101.25, 103.0]
    assert timeline(srv, until=102.0) == [
        "    +  0.50 s  kgrec.serve: starting kgrec serve",
        "    +  1.25 s  server.auth: authentication is off",
    ]


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--restarts", "-1"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_first_start_and_a_warm_restart_of_a_tiny_demo(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench.startup", "--products", "300", "--users", "40",
           "--restarts", "1", "--data-dir", str(tmp_path / "data"), "--settle", "0",
           "--", "--no-train-model"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=280)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^os\.cpu_count\(\) \d+; load average before [\d.]+", out, re.M)
    starts = re.findall(
        r"^== (.+): SERVING after ([\d.]+) s; first Recommend \d+ ms \((\d+) items\)", out, re.M
    )
    assert [s[0] for s in starts] == ["first start (fresh data dir)", "warm restart 1"]
    assert all(int(items) > 0 for _, _, items in starts)  # answered right after SERVING
    new_words = re.findall(r"^  then 8 first turns with new words: median [\d.]+ ms", out, re.M)
    assert len(new_words) == 2
    assert re.search(r"^  stage +[\d.]+ s  opening the graph DB$", out, re.M)
    assert re.search(r"^    \+ +[\d.]+ s  server\.app: pipeline ready: health SERVING", out, re.M)
    # the warm restart found the lexicon tables of the first start
    warm = out.split("== warm restart 1")[1]
    assert "span-extractor loaded from" in warm and "linker-index loaded from" in warm
    assert re.search(
        r"^warm restart to SERVING: median [\d.]+ s .*; first turns with new words median "
        r"[\d.]+ ms, max [\d.]+ ms$",
        out,
        re.M,
    )
