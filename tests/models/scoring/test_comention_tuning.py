"""The nested weight search (``models/scoring/comention_tuning.py``) on tiny synthetic
dialogues: it sees only the dialogues it is given, and the same dialogues give the same
weights."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from models.crs import CrsDialogue, CrsMessage
from models.crs.conversation_corpus import ConversationCorpus
from models.scoring import CoMentionConfig, CoMentionScorer
from models.scoring.comention_training import fit_comention
from models.scoring.comention_tuning import (
    TERMS,
    TermTable,
    WeightSearch,
    neutral_config,
    recall,
    search,
    term_table,
    tune_weights,
)

GENRES = ("spooky", "funny", "romantic", "epic")
IDS = [f"m{i}" for i in range(24)]
#: a small, fast plan: two inner folds, one round, one seeker_mentions setting
PLAN = WeightSearch(inner_folds=2, rounds=1, seeker_mentions=(False,))


def _dialogues(n: int, seed: int, prefix: str = "") -> list[CrsDialogue]:
    """Seeker names a movie of genre g (and sometimes one the recommender named before);
    the recommender suggests another movie of g: co-mentions and the KG carry the signal."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        g = int(rng.integers(0, 4))
        liked, suggested = (IDS[g + 4 * int(j)] for j in rng.integers(0, 6, 2))
        again = (liked,) if rng.random() < 0.3 else (suggested,)  # ReDial-like repeats
        out.append(
            CrsDialogue(
                f"{prefix}{k}",
                (
                    CrsMessage("seeker", f"something {GENRES[g]} like {liked}", (liked,)),
                    CrsMessage("recommender", f"try {suggested}", (suggested,), (suggested,)),
                    CrsMessage("seeker", "seen it, another?", ()),
                    CrsMessage("recommender", "then this", again, again),
                ),
            )
        )
    return out


def _corpus(dialogues: list[CrsDialogue]) -> ConversationCorpus:
    entities = {m: {f"e:{i % 4}", f"e:x{i % 3}"} for i, m in enumerate(IDS)}
    titles = [f"a {GENRES[i % 4]} film number {i}" for i in range(len(IDS))]
    return ConversationCorpus("synthetic", "jsonl", IDS, titles, entities, dialogues)


def _fit(dialogues: Sequence[CrsDialogue], config: CoMentionConfig) -> CoMentionScorer:
    return CoMentionScorer(IDS, _corpus([]).item_entities, config).fit(dialogues)


def test_neutral_start_weighs_every_term_one_and_keeps_the_other_defaults() -> None:
    start = neutral_config()
    assert all(getattr(start, f"w_{t}") == 1.0 for t in (*TERMS, "entity"))
    assert start.near_power == CoMentionConfig().near_power
    assert neutral_config(CoMentionConfig(hub_df=0.2)).hub_df == 0.2
    with pytest.raises(ValueError, match="inner_folds"):
        WeightSearch(inner_folds=1)


def test_each_folds_terms_come_from_a_fit_without_that_fold() -> None:
    dialogues = _dialogues(12, seed=1)
    fold_of = [n % 3 for n in range(12)]
    seen: list[set[str]] = []

    def spy(train: Sequence[CrsDialogue], config: CoMentionConfig) -> CoMentionScorer:
        seen.append({d.id for d in train})
        return _fit(train, config)

    table = term_table(dialogues, fold_of, neutral_config(), spy)
    assert len(seen) == 3
    for f, train in enumerate(seen):
        held = {d.id for d, g in zip(dialogues, fold_of, strict=True) if g == f}
        assert train == {d.id for d in dialogues} - held
    assert table.terms.shape == (24, len(TERMS), len(IDS))  # two target turns a dialogue
    assert table.repeat.any() and not table.repeat.all()


def _echoes(n: int) -> list[CrsDialogue]:
    """Dialogues whose every recommendation is the seeker's own movie again: tuned on these,
    ``w_self`` (rank the context items themselves) is all that counts."""
    return [
        CrsDialogue(
            f"echo{k}",
            (
                CrsMessage("seeker", "I loved it", (IDS[k % 24],)),
                CrsMessage("recommender", "watch it again", (IDS[k % 24],), (IDS[k % 24],)),
            ),
        )
        for k in range(n)
    ]


def test_the_fit_never_sees_the_held_out_dialogues(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weights tuned on the training dialogues are the same whether the corpus's other
    (held-out) dialogues are ordinary ones or all echoes, and no inner fit is given one."""
    import models.scoring.comention_training as training

    counted: set[str] = set()
    tune = training.tune_protocols

    def spy(dialogues: Sequence[CrsDialogue], fit: Any, *args: Any) -> Any:
        def recorded(ds: Sequence[CrsDialogue], config: CoMentionConfig) -> Any:
            counted.update(d.id for d in ds)
            return fit(ds, config)

        return tune(dialogues, recorded, *args)

    monkeypatch.setattr(training, "tune_protocols", spy)
    train = _dialogues(40, seed=2)
    plan = dataclasses.replace(PLAN, repeats=True)
    picked = [
        fit_comention(_corpus(train + held), train, rerank=False, text=False, tune=plan).config
        for held in (_dialogues(20, seed=3, prefix="held"), _echoes(40))
    ]
    assert picked[0] == picked[1]
    assert counted == {d.id for d in train}
    # the spy can fail: a fit on every dialogue counts the echoes
    fit_comention(_corpus(train), train + _echoes(4), rerank=False, text=False, tune=plan)
    assert "echo0" in counted


def test_tuning_is_reproducible_and_holds_w_self_at_zero_without_repeats() -> None:
    dialogues = _dialogues(40, seed=5)
    plan = dataclasses.replace(PLAN, seeker_mentions=(False, True))
    first = tune_weights(dialogues, _fit, plan)
    assert first == tune_weights(dialogues, _fit, plan)
    assert first.w_self == 0.0  # the product default: the seeker's movies are not echoed
    standard = tune_weights(dialogues, _fit, dataclasses.replace(plan, repeats=True))
    assert standard.w_self > 0  # 30% of the last targets repeat the seeker's movie


def test_search_never_scores_worse_than_its_start() -> None:
    dialogues = _dialogues(40, seed=6)
    table = term_table(dialogues, [n % 2 for n in range(40)], neutral_config(), _fit)
    start = {t: 1.0 for t in TERMS}
    picked = search(table, start, rounds=2)

    def value(w: dict[str, float]) -> float:
        r10, r50 = recall(table, [w[t] for t in TERMS])
        return r10 + r50 / 2

    assert value(picked) >= value(start)
    no_self = search(table, start | {"self": 0.0}, rounds=2, repeats=False, fixed=("self",))
    assert no_self["self"] == 0.0


def test_recall_drops_repeats_and_handles_an_empty_selection() -> None:
    terms = np.zeros((2, len(TERMS), 60), dtype=np.float32)
    terms[:, TERMS.index("co"), 20:40] = 0.5  # twenty items above item 7
    terms[:, TERMS.index("co"), 5] = 1.0  # item 5 first at both turns
    samples = np.array([[0, 5], [1, 7]])
    table = TermTable(terms, np.array([0, 1]), samples, np.array([False, True]))
    weights = [1.0 if t == "co" else 0.0 for t in TERMS]
    assert recall(table, weights)[0] == 0.5
    assert recall(table, weights, repeats=False)[0] == 1.0  # the repeat (item 7) left out
    assert recall(table, weights, [1], repeats=False) == (0.0, 0.0)
    with pytest.raises(ValueError, match="repeat flags"):
        TermTable(terms, np.array([0, 1]), samples, np.array([False]))
