"""``kgrec evaluate --policy NAME[:STATE] --impressions DIR`` on a small generated log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_impressions import LOGGING, LinearPolicy, make_log, write_log

from kgrec.cli import main
from models.feedback import SIGNALS, make_policy


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    log = make_log(4, sessions=150, signals=SIGNALS, rate=0.3)
    directory = tmp_path_factory.mktemp("imp") / "impressions"
    write_log(log, directory)
    return directory, log.true_ctr(LinearPolicy(LOGGING))


def test_off_prints_the_logged_rate_and_each_estimator(log_dir, capsys):
    directory, truth = log_dir
    assert main(["evaluate", "--policy", "off", "--impressions", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "450 turns, 1800 impressions, 150 sessions" in out
    for label in ("logged (observed)", "off IPS", "off SNIPS", "off DR", "unsupported: 0.0%"):
        assert label in out

    assert main(["evaluate", "--policy", "off", "--impressions", str(directory), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["turns"] == 450 and report["impressions"] == 1800
    assert report["logged_by"] == {"off": 450}
    # "off" is the logging policy's own ranking: every estimator covers its true rate
    for est in report["estimates"].values():
        assert est["low"] <= truth <= est["high"]


def test_a_saved_bandit_state_is_evaluated(log_dir, capsys, tmp_path):
    directory, _ = log_dir
    bandit = make_policy("linucb")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(SIGNALS)))
    bandit.update(x, (x[:, 0] > 0).astype(float))
    state = tmp_path / "linucb.json"
    bandit.save(state)
    argv = ["evaluate", "--policy", f"linucb:{state}", "--impressions", str(directory)]
    assert main([*argv, "--json", "--bootstrap", "50"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unsupported"] == 0.0 and 0 < report["matched"] < 1
    assert set(report["estimates"]) == {"ips", "snips", "dr"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "greedy"], "is not one of"),
        (["--policy", "off:state.json"], "no state file"),
        (["--policy", "linucb:/nonexistent/state.json"], "cannot load"),
        (["--policy", "off", "--reward", "clack"], "--reward"),
        (["--policy", "off", "--logged-by", "thompson"], "no logged turn"),
    ],
)
def test_bad_arguments_are_one_line_errors(log_dir, capsys, argv, message):
    directory, _ = log_dir
    assert main(["evaluate", *argv, "--impressions", str(directory)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_log_or_other_signals_are_errors(tmp_path, capsys):
    assert main(["evaluate", "--policy", "off", "--impressions", str(tmp_path / "no")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    write_log(make_log(1, sessions=3), tmp_path / "three")  # 3 signals, not the policy's
    assert main(["evaluate", "--policy", "off", "--impressions", str(tmp_path / "three")]) == 2
    assert "logged with signals" in capsys.readouterr().err
