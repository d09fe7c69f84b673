"""The tree re-ranker of the conversational scorer, on tiny synthetic dialogues."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.crs import CrsDialogue, CrsMessage, RerankConfig, TermReranker, target_turns
from models.crs.reranker import TERM_NAMES, TurnShape
from models.scoring import CoMentionConfig, CoMentionScorer, ScoringContext

IDS = [f"m{i}" for i in range(10)]
# popularity outweighs co-mentions 20 to 1: linear order puts the hit m9 first everywhere
LINEAR = CoMentionConfig(w_pop=1.0, w_co=0.05, w_kg=0, w_text=0, w_seq=0, w_entity=0)
SMALL = RerankConfig(candidates=5, inner_folds=2, max_iter=60, min_samples_leaf=2, min_positives=5)


def _dialogues(copies: int = 12) -> list[CrsDialogue]:
    """With no movie named, the recommender suggests the hit m9 (three times as often as
    any other); after the seeker names ``m{k}`` (k < 4), always ``m{k+4}``: which term
    matters depends on the turn."""
    out: list[CrsDialogue] = []
    for n in range(copies):
        out += [
            CrsDialogue(
                f"hit{n}-{h}",
                (CrsMessage("seeker", "hi"), CrsMessage("recommender", "m9", ("m9",), ("m9",))),
            )
            for h in range(3)
        ]
        for k in range(4):
            liked, suggested = f"m{k}", f"m{k + 4}"
            out.append(
                CrsDialogue(
                    f"pair{n}-{k}",
                    (
                        CrsMessage("seeker", f"I liked {liked}", (liked,)),
                        CrsMessage("recommender", suggested, (suggested,), (suggested,)),
                    ),
                )
            )
    return out


def test_trees_learn_when_co_mentions_should_outweigh_popularity() -> None:
    """A popularity prior from a larger corpus (as ReDial's) keeps the popularity term on one
    scale for the inner copies, counted on half the dialogues, and the full scorer."""
    train = _dialogues()
    prior = {"m9": 3000.0, **{f"m{k}": 1000.0 for k in range(4, 8)}}
    linear = CoMentionScorer(IDS, config=LINEAR, prior_counts=prior).fit(train)
    assert IDS[int(np.argmax(linear.scores(["m1"])))] == "m9"  # the weights cannot tell turns apart
    reranked = CoMentionScorer(
        IDS, config=LINEAR, prior_counts=prior, reranker=TermReranker(SMALL)
    ).fit(train)
    for k in range(4):
        assert IDS[int(np.argmax(reranked.scores([f"m{k}"])))] == f"m{k + 4}"
    assert IDS[int(np.argmax(reranked.scores([])))] == "m9"
    # the pipeline's calls go through the same scores
    vector = reranked.catalog_scores(ScoringContext(liked_item_ids=("m2",)))
    assert reranked.top_k(vector, 1)[0][0] == "m6"


def test_items_outside_the_candidates_stay_below_them_in_linear_order() -> None:
    train = _dialogues()
    reranker = TermReranker(SMALL)
    scorer = CoMentionScorer(IDS, config=LINEAR, reranker=reranker).fit(train)
    assert reranker.fitted
    linear, _, _ = scorer._linear(["m1"], "")
    out = scorer.scores(["m1"])
    cands = reranker.candidates(linear)
    assert len(cands) == SMALL.candidates
    rest = np.setdiff1d(np.arange(len(IDS)), cands)
    assert out[rest].max() < out[cands].min()
    assert list(rest[np.argsort(-out[rest], kind="stable")]) == list(
        rest[np.argsort(-linear[rest], kind="stable")]
    )


def test_too_few_recommendations_leave_the_scorer_linear(caplog: pytest.LogCaptureFixture) -> None:
    train = _dialogues(copies=1)  # 7 turns, under min_positives of the default config
    reranker = TermReranker()
    scorer = CoMentionScorer(IDS, config=LINEAR, reranker=reranker).fit(train)
    assert not reranker.fitted and "not re-ranking" in caplog.text
    plain = CoMentionScorer(IDS, config=LINEAR).fit(train)
    np.testing.assert_allclose(scorer.scores(["m1"]), plain.scores(["m1"]))


def test_cross_fitting_scores_each_turn_with_a_scorer_that_never_saw_it() -> None:
    """The rows of inner fold f come from a copy counted on the other folds only, with every
    term (also those weighted 0, which scoring feeds the trees too), and the copy leaves the
    scorer's own counts alone."""
    train = _dialogues(copies=2)
    seen: list[set[str]] = []
    fed: set[str] = set()

    class Spy(TermReranker):
        def fit(self, dialogues, counted_on, item_index, repeats=True):  # type: ignore[no-untyped-def]
            def spying(subset):  # type: ignore[no-untyped-def]
                seen.append({d.id for d in subset})
                score = counted_on(subset)

                def scoring(context, text):  # type: ignore[no-untyped-def]
                    linear, terms, shape = score(context, text)
                    fed.update(terms)
                    return linear, terms, shape

                return scoring

            return super().fit(dialogues, spying, item_index, repeats)

    scorer = CoMentionScorer(IDS, config=LINEAR, reranker=Spy(SMALL))
    scorer.fit(train)
    everyone = {d.id for d in train}
    assert len(seen) == SMALL.inner_folds
    held = [everyone - s for s in seen]
    assert set().union(*held) == everyone and sum(len(h) for h in held) == len(everyone)
    assert {"seq", "kg"} <= fed  # LINEAR weighs both 0
    plain = CoMentionScorer(IDS, config=LINEAR).fit(train)
    np.testing.assert_allclose(scorer._linear(["m1"], "")[0], plain._linear(["m1"], "")[0])


def test_a_term_that_says_nothing_ranks_every_candidate_alike() -> None:
    """Rank features count the larger values (ties share a rank); a constant term (the entity
    term of a turn without entities) ranks every candidate past the last, not first and not
    in the linear order."""
    reranker = TermReranker(SMALL)
    linear = np.array([3.0, 2.0, 1.0, 0.5])
    terms = {"pop": np.array([0.2, 0.9, 0.9, 0.1]), "entity": np.zeros(4)}
    cands = reranker.candidates(linear)
    features = reranker.features(linear, terms, TurnShape(1, 0, 0), cands)
    n_terms = len(TERM_NAMES)
    pop, entity = TERM_NAMES.index("pop"), TERM_NAMES.index("entity")
    assert list(features[:, n_terms + pop]) == [2.0, 0.0, 0.0, 3.0]
    assert list(features[:, n_terms + entity]) == [4.0, 4.0, 4.0, 4.0]
    assert list(features[:, 2 * n_terms + 1]) == [0.0, 1.0, 2.0, 3.0]  # the linear rank


def test_target_turns_give_the_context_before_each_recommendation() -> None:
    d = CrsDialogue(
        "d",
        (
            CrsMessage("seeker", "I liked m1", ("m1",)),
            CrsMessage("recommender", "try m2", ("m2",), ("m2",)),
            CrsMessage("seeker", "seen it, and m3"),
            CrsMessage("recommender", "then m4", ("m4",), ("m4",)),
        ),
    )
    turns = [(m.targets, ctx, text) for m, ctx, text in target_turns(d)]
    assert turns[0][:2] == (("m2",), ["m1"]) and "I liked m1" in turns[0][2]
    assert turns[1][:2] == (("m4",), ["m1", "m2"])
    assert turns[1][2].index("seen it") < turns[1][2].index("I liked")  # newest first


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="candidates"):
        RerankConfig(candidates=1)
    with pytest.raises(ValueError, match="inner_folds"):
        RerankConfig(inner_folds=1)


def _repeating(copies: int = 12) -> list[CrsDialogue]:
    """After the seeker names ``m{k}`` (k < 4), the recommender names it again and suggests
    ``m{k+4}``: both are targets, and ReDial counts the first (a repeat). Each ``k`` runs
    through both inner folds (dialogue ``n`` is in inner fold ``n % 2``)."""
    out: list[CrsDialogue] = []
    for k in range(4):
        liked, suggested = f"m{k}", f"m{k + 4}"
        seeker = CrsMessage("seeker", f"I liked {liked}", (liked,))
        both = (liked, suggested)
        out += [
            CrsDialogue(f"r{n}-{k}", (seeker, CrsMessage("recommender", "", both, both)))
            for n in range(copies)
        ]
    return out


def test_a_scorer_that_does_not_rank_named_items_again_learns_only_from_new_targets() -> None:
    """With ``w_self`` 0 (the product: a shopper's named items are hidden) a target the
    context named is a negative row, not a positive; with ``w_self`` on it is a positive."""
    train = _repeating()
    repeats = dataclasses.replace(LINEAR, w_self=0.01)
    for config, top in ((LINEAR, "m5"), (repeats, "m1")):
        scorer = CoMentionScorer(IDS, config=config, reranker=TermReranker(SMALL)).fit(train)
        scores = scorer.scores(["m1"])
        assert IDS[int(np.argmax(scores))] == top
    new_only = CoMentionScorer(IDS, config=LINEAR, reranker=TermReranker(SMALL)).fit(train)
    scores = new_only.scores(["m1"])
    assert scores[IDS.index("m5")] > scores[IDS.index("m1")]
