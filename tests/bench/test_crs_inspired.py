"""INSPIRED's catalog in the benchmark and the user's path: the dialogues' titles plus a movie
list, and per fold only the training dialogues' (tiny synthetic files, no /work/shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_bench import OFFLINE_ROW, Options, run_dataset  # noqa: E402
from bench.crs_setup import BenchData  # noqa: E402
from kg.importers import Checkpoint, ImportContext, ImportOptions, ImportReport  # noqa: E402
from kg.importers.inspired import import_inspired, movie_rows  # noqa: E402
from kg.store import GraphStore  # noqa: E402
from models.scoring import CoMentionConfig  # noqa: E402
from tests.bench.inspired_files import inspired_tsv, movie_list  # noqa: E402


def test_inspired_movie_list_joins_the_catalog_in_graph_and_corpus(
    store: GraphStore, tmp_path: Path
) -> None:
    """`kgrec graph import inspired FILE --movie-list CSV` and `read_corpus(FILE, "inspired",
    CSV)` (what `kgrec train --conversations` reads) list the same items: the dialogues'
    titles plus the list's, one item per title (the dialogues' spelling kept)."""
    from kgrec.errors import ConfigError
    from models.crs.conversation_corpus import read_corpus

    tsv, movies = inspired_tsv(tmp_path), movie_list(tmp_path)
    rows = movie_rows(tsv, movies)
    ids = [r["id"] for r in rows]
    assert ids == sorted({*(r["id"] for r in movie_rows(tsv)), "inspired:alien-1979"})
    options = ImportOptions(movie_list=movies)
    ctx = ImportContext(store, options, ImportReport("inspired"), Checkpoint(None))
    import_inspired(ctx, tsv)
    assert ctx.report.finish().bad_rows == []
    assert store.stats().nodes["Product"] == len(ids) == 5
    assert {p.id: p.title for p in store.products(ids)}["inspired:up-2009"] == "Up (2009)"
    corpus = read_corpus(tsv, "inspired", movies)
    assert corpus.item_ids == ids and corpus.titles[ids.index("inspired:up-2009")] == "Up (2009)"
    assert read_corpus(tsv, "inspired").item_ids == [r["id"] for r in movie_rows(tsv)]
    with pytest.raises(ConfigError):
        read_corpus(tsv, "jsonl", movies)


def test_inspired_folds_build_their_catalog_from_training_dialogues_only(
    tmp_path: Path,
) -> None:
    """A fold's catalog and training set come from a file of the other folds' dialogues:
    a movie only the evaluated dialogue names is not in it (its target is a miss), one the
    movie list has is."""
    from bench.crs_setup import inspired_fold
    from models.crs.conversation_corpus import read_corpus

    tsv, movies = inspired_tsv(tmp_path), movie_list(tmp_path)
    data = BenchData(
        read_corpus(tsv, "inspired", movies), import_inspired, tsv,
        ImportOptions(movie_list=movies), inspired_fold,
    )  # fmt: skip
    fold_of = [0, 1]  # d1 (Up, Coco) in fold 0, d2 (Heat, Jaws) in fold 1
    (tmp_path / "work").mkdir()
    fold, train = data.for_fold(fold_of, 0, tmp_path / "work")
    assert [d.id for d in train] == ["d2"] and train == fold.dialogues
    assert train[0] == data.dialogues[1]
    assert set(fold.item_ids) == {
        "inspired:heat-1995", "inspired:jaws-1975", "inspired:up-2009", "inspired:alien-1979",
    }  # fmt: skip
    assert "inspired:coco-2017" not in fold.item_ids  # named only by the evaluated d1
    assert fold.options.movie_list == movies and fold.import_path.parent == tmp_path / "work"
    fold, train = data.for_fold(fold_of, 1, tmp_path / "work")
    assert [d.id for d in train] == ["d1"] and "inspired:heat-1995" not in fold.item_ids


def test_inspired_offline_rows_count_targets_outside_the_folds_catalog_as_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.crs_bench import print_table
    from bench.crs_setup import inspired_fold
    from models.crs.conversation_corpus import read_corpus

    tsv, movies = inspired_tsv(tmp_path), movie_list(tmp_path)
    data = BenchData(
        read_corpus(tsv, "inspired", movies), import_inspired, tsv,
        ImportOptions(movie_list=movies), inspired_fold,
    )  # fmt: skip
    assert data.per_fold
    opts = Options(
        "inspired", None, 2, "turn", "comention", False, CoMentionConfig(), (),
        text_embeddings=False, rerank=False,
    )  # fmt: skip
    rows = run_dataset(data, opts)
    # targets: Coco (d1; named only by d1) and Heat (d2; named only by d2): neither is in
    # the catalog of the fold that scores it, whatever the whole file lists
    assert rows[OFFLINE_ROW].in_catalog == 0 and len(rows[OFFLINE_ROW].ranks) == 2
    assert rows[OFFLINE_ROW].recall(50) == 0.0
    print_table(data, opts, rows)
    assert "coverage: 0 of 2 evaluated targets (0.000)" in capsys.readouterr().out


def test_train_conversations_with_a_movie_list_scores_what_the_import_lists(
    tmp_path: Path,
) -> None:
    """`kgrec train --conversations FILE --movie-list CSV` fits a scorer over the catalog
    `kgrec graph import inspired FILE --movie-list CSV` writes."""
    from kgrec.cli import main
    from models.scoring import latest_checkpoint, load_scorer

    tsv, movies = inspired_tsv(tmp_path), movie_list(tmp_path)
    out = tmp_path / "models"
    argv = ["train", "--conversations", str(tsv), "--movie-list", str(movies), "--out", str(out)]
    assert main([*argv, "--no-text", "--no-rerank"]) == 0
    path = latest_checkpoint(out)
    assert path is not None
    assert load_scorer(path).item_ids == [r["id"] for r in movie_rows(tsv, movies)]
