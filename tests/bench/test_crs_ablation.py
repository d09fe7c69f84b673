"""What each part of the conversational scorer adds (``bench.crs_ablation``), on tiny ReDial
files: one run with every part, one without each part, and each part's share paired."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_args import parse_args  # noqa: E402
from models.scoring.comention_config import CO_MENTION_TERMS, KG_TERMS  # noqa: E402
from tests.bench.redial_files import redial_folder  # noqa: E402


def test_without_takes_each_group_of_terms() -> None:
    assert parse_args(["--without", "co-mentions"])[1].weights["off_terms"] == CO_MENTION_TERMS
    assert parse_args(["--without", "kg"])[1].weights["off_terms"] == KG_TERMS
    with pytest.raises(SystemExit):
        parse_args(["--without", "pop"])


def test_each_part_is_left_out_of_one_run_and_paired_with_the_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.crs_ablation as crs_ablation
    import bench.crs_bench as crs_bench
    import bench.crs_curve as crs_curve

    fits: list[tuple[tuple[str, ...], bool]] = []
    fit = crs_bench.fit_comention

    def spy(corpus: object, train: list, config: object, *args: object, **kw: object) -> object:
        off = config.off_terms  # type: ignore[attr-defined]
        fits.append((off, bool(kw["rerank"])))
        return fit(corpus, train, config, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(crs_bench, "fit_comention", spy)
    # the command's own process settings (log levels, torch threads) would outlive the test
    monkeypatch.setattr(crs_curve, "configure", lambda level: None)
    data = redial_folder(tmp_path).parent
    search = ["--inner-folds", "2", "--rounds", "1", "--inner-seeker-mentions", "off"]
    out_file = tmp_path / "ablation.json"
    argv = ["--data", str(data), "--folds", "2", "--parts", "kg,co-mentions,reranker"]
    assert crs_ablation.main([*argv, "--out", str(out_file), "--", *search]) == 0
    assert {off for off, _ in fits} == {(), KG_TERMS, CO_MENTION_TERMS}
    assert {rerank for _, rerank in fits} == {True, False}
    out = capsys.readouterr().out
    for protocol in ("standard", "repeats-removed"):
        assert f"ablation, {protocol} protocol" in out
    rows = [line for line in out.splitlines() if line.startswith("without ")]
    assert len(rows) == 6 and all(line.count("[") == 2 for line in rows)  # paired intervals
    assert "without tree re-ranker" in out and "text vectors" not in out
    assert "redial without co-mentions" in out_file.read_text()


def test_an_unknown_part_fails_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.crs_ablation as crs_ablation
    import bench.crs_curve as crs_curve

    monkeypatch.setattr(crs_curve, "point", lambda args: pytest.fail("a run ran"))
    with pytest.raises(SystemExit):
        crs_ablation.main(["--data", str(tmp_path), "--parts", "kg,gnn"])
    with pytest.raises(SystemExit):
        crs_ablation.main(["--data", str(tmp_path), "--", "--pool", "lots"])
