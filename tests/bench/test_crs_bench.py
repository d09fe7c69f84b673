"""Fast tests of the CRS benchmark on tiny synthetic ReDial / INSPIRED files.

The real-data run is the benchmark itself (``python -m bench.crs_bench``), not a test.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from bench.crs_bench import (  # noqa: E402
    NO_REPEATS,
    OFFLINE_ROW,
    POPULARITY_ROW,
    Options,
    Tally,
    rank_of,
    run_dataset,
    served_row,
)
from bench.crs_setup import BenchData, folds  # noqa: E402
from kg.importers import Checkpoint, ImportContext, ImportOptions, ImportReport, Skip  # noqa: E402
from kg.importers.inspired import import_inspired, movie_rows  # noqa: E402
from kg.importers.redial import build_kg, entity_names, import_redial, title_aliases  # noqa: E402
from kg.store import GraphStore  # noqa: E402
from kg.types import LexiconEntry  # noqa: E402
from kgrec.domain import IntentType  # noqa: E402
from models.crs.inspired_reader import read_inspired, read_inspired_titles  # noqa: E402
from models.crs.redial_reader import parse_redial_dialogue, read_redial  # noqa: E402
from models.intent import Intent, IntentParser, Mention  # noqa: E402
from models.scoring import CoMentionConfig  # noqa: E402
from tests.bench.inspired_files import inspired_tsv  # noqa: E402
from tests.bench.redial_files import (  # noqa: E402
    N_MOVIES,
    RECOMMENDER_ID,
    URI,
    redial_dialogue,
    redial_folder,
)

#: the rows of an ``--offline`` run with both protocols
OFFLINE_ROWS = {POPULARITY_ROW, OFFLINE_ROW, POPULARITY_ROW + NO_REPEATS, OFFLINE_ROW + NO_REPEATS}


@pytest.fixture
def redial_dir(tmp_path: Path) -> Path:
    return redial_folder(tmp_path)


def test_redial_reader_titles_roles_and_targets(redial_dir: Path) -> None:
    dialogues = list(read_redial(redial_dir / "kgsf_valid_data.jsonl", {"4": "Movie 4 (2000)"}))
    assert [d.id for d in dialogues] == ["10", "11", "12", "13"]
    first = dialogues[0]
    assert [m.role for m in first.messages] == ["seeker", "seeker", "seeker", "recommender"]
    assert first.messages[1].text == "I loved Movie 3 (2000)"
    assert first.messages[1].item_ids == ("redial:3",) and first.messages[1].targets == ()
    # the dialogue's own name is empty for movie 4: the catalog title fills in
    assert first.messages[3].text == "then try Movie 4 (2000) !"
    assert first.messages[3].targets == ("redial:4",)
    assert first.n_eval_turns == 1


def test_redial_reader_unknown_mention_stays_and_unsuggested_is_no_target() -> None:
    record = redial_dialogue(1, 3, 4)
    record["respondentQuestions"]["4"]["suggested"] = 0
    record["messages"].append({"text": "or @999", "senderWorkerId": RECOMMENDER_ID})
    d = parse_redial_dialogue(record)
    assert d.messages[-1].text == "or @999" and d.messages[-1].item_ids == ()
    assert d.n_eval_turns == 0


def test_entity_names_and_title_aliases() -> None:
    assert entity_names(URI.format("John_Hughes_(filmmaker)")) == (
        "John Hughes",
        ["John Hughes (filmmaker)"],
    )
    assert entity_names(URI.format("Am%C3%A9lie")) == ("Amélie", [])
    assert title_aliases("Dark Knight, The (2008)") == ["Dark Knight, The", "The Dark Knight"]


def test_build_kg_keeps_movie_neighbourhood_of_allowed_relations(redial_dir: Path) -> None:
    ids = {f"redial:{i}" for i in range(1, N_MOVIES + 1)}
    kg = build_kg(redial_dir / "kgsf_dbpedia_kg", ids, min_relation_count=2)
    triples = [t[1] for t in kg.triples if not isinstance(t, Skip)]
    assert triples == [
        {"head": "redial:1", "relation": "REL_121", "tail": "dbr:Jane_Doe_(director)"},
        {"head": "redial:2", "relation": "REL_121", "tail": "dbr:Jane_Doe_(director)"},
    ]  # self-loop (86) and the entity-entity triple (104) left out
    assert kg.relations == {"REL_121": 2}
    assert [e[1]["name"] for e in kg.entities] == ["Jane Doe"]
    assert build_kg(redial_dir / "kgsf_dbpedia_kg", ids, min_relation_count=3).triples == []


def test_import_redial_and_inspired(store: GraphStore, redial_dir: Path, tmp_path: Path) -> None:
    def ctx(kind: str) -> ImportContext:
        return ImportContext(store, ImportOptions(), ImportReport(kind), Checkpoint(None))

    report = ctx("redial")
    import_redial(report, redial_dir, min_relation_count=2)
    assert report.report.finish().bad_rows == []
    stats = store.stats()
    assert stats.nodes == {"Entity": 1, "Product": N_MOVIES}
    assert stats.relationships == {"REL_121": 2}
    (movie,) = store.products(["redial:4"])
    assert movie.title == "Movie 4 (2000)"
    tsv = inspired_tsv(tmp_path)
    import_inspired(ctx("inspired"), tsv)
    assert store.stats().nodes["Product"] == N_MOVIES + len(movie_rows(tsv))


def test_inspired_reader_targets_are_first_mentions_by_the_recommender(tmp_path: Path) -> None:
    path = inspired_tsv(tmp_path)
    d1, d2 = read_inspired(path)
    assert d1.messages[0].text == 'I liked "Up"' and d1.messages[0].targets == ()
    assert d1.messages[1].text == "Try Coco or Up"
    assert d1.messages[1].item_ids == ("inspired:coco-2017", "inspired:up-2009")
    assert d1.messages[1].targets == ("inspired:coco-2017",)  # Up was the seeker's
    assert d2.messages[0].targets == ("inspired:heat-1995",)
    assert set(read_inspired_titles(path).values()) == {
        "Up (2009)",
        "Coco (2017)",
        "Heat (1995)",
        "Jaws (1975)",
    }


def test_tally_and_helpers() -> None:
    t = Tally(ranks=[0, 5, None, 30])
    assert [t.recall(k) for k in (1, 10, 50)] == [0.25, 0.5, 0.75]
    assert rank_of("b", ["a", "b"]) == 1 and rank_of("c", ["a", "b"]) is None
    assert folds(5, 2) == [0, 1, 0, 1, 0]
    shuffled = folds(9, 3, seed=1)
    assert shuffled == folds(9, 3, seed=1) != folds(9, 3)  # seeded, and another split
    assert sorted(Counter(shuffled).values()) == [3, 3, 3]


def test_repeats_removed_keeps_first_mentions_only() -> None:
    """Two dialogues: ranks 0 (a repeat) and 3; then 7 and None (a repeat). Without repeats:
    [3] and [7], each dialogue in place."""
    t = Tally()
    for ranks, repeats in (([0, 3], [True, False]), ([7, None], [False, True])):
        part = Tally()
        for r, rep in zip(ranks, repeats, strict=True):
            part.add_sample(r, rep)
        part.add_dialogue(len(ranks))
        t.merge(part)
    fresh = t.without_repeats()
    assert fresh.ranks == [3, 7] and fresh.per_dialogue == [1, 1]
    assert t.recall(1) == 0.25 and fresh.recall(10) == 1.0 and fresh.recall(5) == 0.5
    with pytest.raises(ValueError, match="repeat flags"):
        Tally(ranks=[1], per_dialogue=[1]).without_repeats()


def test_protocols_run_the_product_defaults_for_repeats_removed() -> None:
    from bench.crs_bench import protocol_runs

    redial = CoMentionConfig(w_self=5.0)
    runs = protocol_runs(redial, ("standard", "repeats-removed"))
    assert [(s, c.w_self, hide) for s, c, hide in runs] == [
        ("", 5.0, False),  # ReDial's protocol: the seeker's movies ranked again, not hidden
        (NO_REPEATS, 0.0, True),  # the product: hidden, not ranked again
    ]
    inspired = protocol_runs(CoMentionConfig(), ("standard", "repeats-removed"))
    assert inspired[0][1:] == inspired[1][1:]  # one run, read by both protocols


def test_tally_interval_resamples_whole_dialogues() -> None:
    """Dialogues: one with 3 hits, one with 1 miss, one without a recommendation. A
    resample draws 3 whole dialogues, so its Recall@10 is one of 0, 3/5, 3/4, 6/7, 1."""
    t = Tally()
    for ranks in ([0, 1, 2], [None], []):
        part = Tally(ranks=list(ranks))
        part.add_dialogue(len(ranks))
        t.merge(part)
    assert t.dialogues == 3 and t.per_dialogue == [3, 1, 0] and t.recall(10) == 0.75
    low, high = t.interval(10)
    assert low == 0.0 and high == 1.0  # 0 (no hit dialogue drawn) is likelier than 2.5%
    narrow = Tally()
    for n in range(200):  # many dialogues of one sample each, half hits
        part = Tally(ranks=[0 if n % 2 else None])
        part.add_dialogue(1)
        narrow.merge(part)
    low, high = narrow.interval(10)
    assert 0.41 < low < 0.5 < high < 0.59  # about +-1.96 * sqrt(0.25 / 200) = 0.069
    constant = Tally(ranks=[0, 0], per_dialogue=[1, 1])
    assert constant.interval(10) == (1.0, 1.0)
    unknown = Tally(ranks=[0])  # no per-dialogue counts: no interval
    assert np.isnan(unknown.interval(10)[0])


class TitleParser(IntentParser):
    """Exact, case-insensitive lexicon matches (stands in for the MiniLM parser in tests)."""

    name = "titles"

    def __init__(self, lexicon: list[LexiconEntry]) -> None:
        self.entries = sorted(lexicon, key=lambda e: -len(e.surface))

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        low = message.lower()
        mentions: list[Mention] = []
        for e in self.entries:
            start = low.find(e.surface.lower())
            if start >= 0 and not any(m.start <= start < m.end for m in mentions):
                end = start + len(e.surface)
                mentions.append(Mention(message[start:end], start, end, entity_id=e.entity_id))
        return Intent(IntentType.RECOMMEND, tuple(mentions))


@pytest.mark.parametrize("scorer", ["comention", "none"])
def test_end_to_end_through_the_grpc_server(redial_dir: Path, scorer: str) -> None:
    from bench.crs_setup import redial_data

    data: BenchData = redial_data(redial_dir.parent)
    opts = Options("redial", None, 2, "turn", scorer, False, CoMentionConfig(), PIPELINES)
    lexicon = [
        LexiconEntry(f"redial:{i}", "Product", f"Movie {i} (2000)", f"Movie {i} (2000)")
        for i in range(1, N_MOVIES + 1)
    ]
    rows = run_dataset(data, opts, parser=TitleParser(lexicon))
    served = rows[served_row(opts, "stock")]
    assert served.dialogues == 4 and served.turns == 4 and served.in_catalog == 4
    assert len(served.latencies_ms) == 12  # three seeker messages per dialogue
    # dialogue 10 is scored with a model fitted on 11 and 13 (3 -> 4, 5 -> 6), and so on
    assert rows[OFFLINE_ROW].recall(1) == 1.0
    assert rows[POPULARITY_ROW].recall(1) < 1.0  # 4 and 6 are equally popular
    # "I loved Movie 3" came one message before the ranking that is scored: the pipeline's
    # scorer gets the session's earlier movies, not only this turn's
    if scorer == "comention":
        assert served.recall(1) == 1.0
    else:  # KG match + (zero) popularity cannot know 3 -> 4
        assert served.recall(1) < 1.0


PIPELINES = ("stock",)


def test_link_audit_counts_named_linked_and_wrong_movies(redial_dir: Path) -> None:
    from bench.crs_links import audit

    lexicon = [
        LexiconEntry(f"redial:{i}", "Product", f"Movie {i} (2000)", f"Movie {i} (2000)")
        for i in range(1, N_MOVIES + 1)
    ]
    # a parser that also reads "hi" as Movie 7: one wrong link per dialogue
    hi = LexiconEntry("redial:7", "Product", "Movie 7 (2000)", "hi")
    counts, wrong = audit(redial_dir.parent, None, parser=TitleParser([*lexicon, hi]))
    assert counts["messages"] == 12 and counts["named"] == 4  # "I loved @3" ...
    assert counts["found"] == 4 and counts["linked"] == 8 and counts["wrong"] == 4
    assert wrong == {("hi", "Movie 7 (2000)"): 4}


def test_the_bench_fits_on_what_kgrec_train_reads(redial_dir: Path) -> None:
    """Serve what you measure: each fold's scorer gets the corpus ``kgrec train
    --conversations`` reads, nothing more (no popularity from ``nbMentions``, which counts
    ReDial's test dialogues too)."""
    from bench.crs_setup import redial_data
    from models.crs.conversation_corpus import read_corpus

    assert redial_data(redial_dir.parent).corpus == read_corpus(redial_dir, "redial")


def test_offline_rows_need_no_graph_and_popularity_ignores_the_weights(
    redial_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.crs_bench as crs_bench
    from bench.crs_setup import redial_data

    def no_graph(*args: object) -> None:
        raise AssertionError("the offline rows started a graph")

    monkeypatch.setattr(crs_bench, "graph", no_graph)
    data: BenchData = redial_data(redial_dir.parent)
    popularity = []
    for w_pop in (0.0, 1.0):  # INSPIRED's scorer weighs popularity 0; the row is still popularity
        opts = Options(
            "redial", None, 2, "turn", "comention", False, CoMentionConfig(w_pop=w_pop), ()
        )
        rows = run_dataset(data, opts)
        assert set(rows) == OFFLINE_ROWS
        popularity.append(rows[POPULARITY_ROW].ranks)
    assert popularity[0] == popularity[1]
    assert rows[OFFLINE_ROW].recall(1) == 1.0


def test_nested_rows_tune_each_fold_on_its_training_dialogues_only(
    redial_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--select nested``: per outer fold and protocol, weights searched on the other folds'
    dialogues (never the fold scored), printed, and the rows scored with them."""
    import bench.crs_bench as crs_bench
    from bench.crs_setup import redial_data
    from models.scoring.comention_tuning import WeightSearch

    data: BenchData = redial_data(redial_dir.parent)
    fold_of = folds(len(data.dialogues), 2)
    tuned_on: list[set[str]] = []
    tune = crs_bench.tune_comention

    def spy(corpus: object, train: list, *args: object, **kwargs: object) -> object:
        tuned_on.append({d.id for d in train})
        return tune(corpus, train, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(crs_bench, "tune_comention", spy)
    plan = WeightSearch(inner_folds=2, rounds=1, seeker_mentions=(False,))
    opts = Options(
        "redial", None, 2, "turn", "comention", False, None, (), text_embeddings=False,
        nested=True, search=plan,
    )  # fmt: skip
    rows = run_dataset(data, opts)
    assert set(rows) == OFFLINE_ROWS
    assert rows[OFFLINE_ROW].dialogues == len(data.dialogues)
    assert len(tuned_on) == 2  # one search per outer fold serves both protocols
    for f, ids in enumerate(tuned_on):
        assert ids == {d.id for d, g in zip(data.dialogues, fold_of, strict=True) if g != f}
    out = capsys.readouterr().out
    assert out.count("weights chosen on its 2 training dialogues") == 4
    assert "standard" in out and "repeats-removed" in out


def test_parse_args() -> None:
    from bench.crs_bench import parse_args

    root, opts, _ = parse_args(["--data", "x", "--pipeline", "stock", "--folds", "3"])
    assert root == Path("x") and opts.pipelines == ("stock",) and opts.n_folds == 3
    assert opts.weights == {}
    _, opts, _ = parse_args(["--weights", "w_entity=3, w_near=0"])
    assert opts.weights == {"w_entity": 3.0, "w_near": 0.0}
    assert opts.rerank and opts.pipelines == ("stock",) and opts.fold_seed is None
    assert parse_args(["--fold-seed", "2"])[1].fold_seed == 2
    _, opts, _ = parse_args(["--no-rerank", "--offline"])
    assert not opts.rerank and opts.pipelines == ()
    assert opts.nested and opts.search.seeker_mentions == (False, True)  # the default
    _, opts, _ = parse_args(["--select", "configs", "--inner-seeker-mentions", "off"])
    assert not opts.nested and opts.search.seeker_mentions == (False,)
    for bad in (
        ["--pipeline", "context"],
        ["--pipeline", "fancy"],
        ["--folds", "1"],
        ["--weights", "w_nope=1"],
        ["--weights", "w_near"],
        ["--weights", "w_near=lots"],
        ["--inner-folds", "1"],
        ["--select", "all"],
    ):
        with pytest.raises(SystemExit):
            parse_args(bad)


@pytest.mark.slow
def test_the_readme_walkthrough_imports_trains_and_evaluates_through_the_server(
    redial_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kgrec graph import redial`, `kgrec train --conversations`, then `kgrec evaluate
    --conversations`: the model serve loads answers the replayed dialogues through gRPC."""
    from kgrec.cli import main

    data_dir = tmp_path / "movies"
    assert main(["graph", "import", "redial", str(redial_dir), "--data-dir", str(data_dir)]) == 0
    out = str(data_dir / "models")
    assert main(["train", "--conversations", str(redial_dir), "--out", out, "--no-text"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--conversations", str(redial_dir), "--data-dir", str(data_dir)]) == 0
    printed = capsys.readouterr().out
    assert "crs-comention-redial" in printed and "4 dialogues, 4 turns" in printed
    standard = next(line for line in printed.splitlines() if line.startswith("standard"))
    # trained on these very dialogues (3 -> 4, 5 -> 6): every target is found in the top 10
    assert standard.split()[-4:-1] != ["0.0000", "0.0000", "0.0000"]
    assert float(standard.split()[-3]) == 1.0
