"""The JSONL conversation log: reading it, its errors, and `kgrec train --conversations` on it
writing a conversational model that `kgrec serve` would load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgrec.errors import InvalidInputError
from models.crs.conversation_corpus import read_corpus
from models.crs.conversation_log import read_conversation_log
from models.scoring import CoMentionScorer, ScoringContext, latest_checkpoint, load_scorer


def _log(path: Path, lines: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n// a comment\n\n")
    return path


def _shop_log(tmp_path: Path) -> Path:
    lines: list[dict] = [
        {"type": "item", "id": f"p{i}", "title": f"Product {i}", "entities": [f"e{i % 2}"]}
        for i in range(6)
    ]
    for n in range(8):  # shoppers who name p0 are recommended p1 (and accept it)
        lines.append(
            {
                "type": "conversation",
                "id": f"c{n}",
                "messages": [
                    {"role": "shopper", "text": "like my old one", "items": ["p0"]},
                    {
                        "role": "assistant",
                        "text": "try these",
                        "items": ["p1", "p5"],
                        "recommended": ["p1", "p5"],
                        "accepted": ["p1"],
                    },
                ],
            }
        )
    lines.append(
        {"type": "conversation", "id": "x", "messages": [{"role": "user", "items": ["p9"]}]}
    )
    return _log(tmp_path / "log.jsonl", lines)


def test_reader_turns_accepted_recommendations_into_targets(tmp_path: Path) -> None:
    log = read_conversation_log(_shop_log(tmp_path))
    assert len(log.dialogues) == 9
    first = log.dialogues[0].messages
    assert first[0].role == "seeker" and first[0].item_ids == ("p0",)
    assert first[1].role == "recommender" and first[1].targets == ("p1",)  # p5 not accepted
    assert first[1].item_ids == ("p1", "p5")
    # described items keep their titles and entities; p9, only mentioned, joins bare
    assert log.item_ids == [*(f"p{i}" for i in range(6)), "p9"]
    assert log.titles[-1] == "p9" and log.item_entities["p9"] == set()
    assert log.item_entities["p3"] == {"e1"}


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "not JSON"),
        ('{"type": "thing"}', "must be 'item' or 'conversation'"),
        ('{"type": "item"}', "non-empty id"),
        ('{"type": "conversation", "messages": []}', "non-empty list"),
        ('{"type": "conversation", "messages": [{"role": "bot"}]}', "must be one of"),
        (
            '{"type": "conversation", "messages": [{"role": "user", "recommended": ["a"]}]}',
            "only assistant messages recommend",
        ),
        ('{"type": "conversation", "messages": [{"role": "user", "items": "a"}]}', "list of"),
    ],
)
def test_reader_names_the_line_of_a_bad_row(tmp_path: Path, line: str, error: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "item", "id": "a"}\n' + line + "\n")
    with pytest.raises(InvalidInputError, match=error) as caught:
        read_conversation_log(path)
    assert "bad.jsonl:2" in str(caught.value)


def test_train_conversations_writes_a_model_serve_loads(tmp_path: Path) -> None:
    from kgrec.cli import main

    log = _shop_log(tmp_path)
    out = tmp_path / "models"
    assert main(["train", "--conversations", str(log), "--out", str(out), "--no-text"]) == 0
    path = latest_checkpoint(out)
    assert path is not None
    scorer = load_scorer(path)
    assert isinstance(scorer, CoMentionScorer) and scorer.version.startswith("crs-comention-jsonl")
    assert read_corpus(log).kind == "jsonl"
    # learned from the log: after p0, p1 (recommended and accepted 8 times) comes first
    scores = scorer.catalog_scores(ScoringContext(liked_item_ids=("p0",)))
    best = scorer.top_k(scores, 1, exclude_item_ids=["p0"])
    assert best[0][0] == "p1"


def test_train_conversations_can_search_its_weights_on_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--tune-weights``: the weights come from a search on the log's own dialogues (every
    weight 1 at the start; the product default holds ``w_self`` at 0), and the saved scorer
    carries them."""
    from kgrec.cli import main
    from models.scoring import CoMentionConfig

    log = _shop_log(tmp_path)
    out = tmp_path / "models"
    argv = ["train", "--conversations", str(log), "--out", str(out), "--no-text"]
    assert main([*argv, "--tune-weights"]) == 0
    assert "weights searched on the training dialogues" in capsys.readouterr().err
    path = latest_checkpoint(out)
    assert path is not None
    scorer = load_scorer(path)
    assert isinstance(scorer, CoMentionScorer)
    config = scorer.config
    assert config.w_self == 0.0 and config != CoMentionConfig()
    assert config.w_entity == 1.0  # not measurable offline: kept at the neutral start
