"""The learning curve of the conversational scorer (``bench.crs_curve``), on tiny ReDial files:
each point's scorers fit on a share of their fold's training dialogues, without the KG terms
in the second column, and the table pairs the two."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_args import parse_args  # noqa: E402
from bench.crs_setup import share_of  # noqa: E402
from models.scoring.comention_config import KG_TERMS  # noqa: E402
from tests.bench.redial_files import redial_folder  # noqa: E402


def test_a_share_is_seeded_in_order_and_part_of_any_larger_share() -> None:
    items = list(range(100))
    quarter, half = share_of(items, 0.25), share_of(items, 0.5)
    assert len(quarter) == 25 and len(half) == 50
    assert quarter == sorted(quarter) and set(quarter) < set(half)
    assert share_of(items, 0.25) == quarter  # seeded: the same every run
    assert share_of(items, 1.0) == items and len(share_of(items[:3], 0.01)) == 1


def test_parse_args_train_share_and_without_kg() -> None:
    _, opts, _ = parse_args(["--train-share", "0.5", "--without", "kg"])
    assert opts.train_share == 0.5 and opts.weights == {"off_terms": KG_TERMS}
    assert parse_args([])[1].train_share == 1.0
    for bad in (["--train-share", "0"], ["--train-share", "1.5"], ["--without", "text"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_the_curve_fits_each_point_on_its_share_with_and_without_the_kg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.crs_bench as crs_bench
    import bench.crs_curve as crs_curve

    fits: list[tuple[int, tuple[str, ...]]] = []
    fit = crs_bench.fit_comention

    def spy(corpus: object, train: list, config: object, *args: object, **kw: object) -> object:
        fits.append((len(train), config.off_terms))  # type: ignore[attr-defined]
        return fit(corpus, train, config, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(crs_bench, "fit_comention", spy)
    # the command's own process settings (log levels, torch threads) would outlive the test
    monkeypatch.setattr(crs_curve, "configure", lambda level: None)
    data = redial_folder(tmp_path).parent
    search = ["--inner-folds", "2", "--rounds", "1", "--inner-seeker-mentions", "off"]
    argv = ["--data", str(data), "--shares", "0.5,1", "--folds", "2", "--protocol", "both"]
    out_file = tmp_path / "curve.json"
    assert (
        crs_curve.main([*argv, "--out", str(out_file), "--", *search, "--no-text-embeddings"]) == 0
    )
    # 4 dialogues, 2 folds: 2 training dialogues per fold, 1 at half; each fold fits per protocol
    assert sorted({n for n, _ in fits}) == [1, 2]
    assert {off for _, off in fits} == {(), KG_TERMS}
    out = capsys.readouterr().out
    for protocol in ("standard", "repeats-removed"):
        assert f"learning curve, {protocol} protocol" in out
    lines = [line for line in out.splitlines() if line.lstrip().startswith(("0.5 ", "1 "))]
    assert len(lines) == 4 and all(line.count("[") == 2 for line in lines)  # paired intervals
    assert "redial share=0.5 without KG" in out_file.read_text()


def test_a_bad_crs_bench_option_fails_before_any_point_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.crs_curve as crs_curve

    monkeypatch.setattr(crs_curve, "point", lambda args: pytest.fail("a point ran"))
    with pytest.raises(SystemExit):
        crs_curve.main(["--data", str(tmp_path), "--", "--pool", "lots"])
    with pytest.raises(SystemExit):
        crs_curve.main(["--data", str(tmp_path), "--shares", "0,1"])
