"""Unit tests of :class:`models.scoring.CoMentionScorer` on toy conversations: co-mentions,
words, popularity, text-embedding terms, the near-conversation vote, the prior counts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from models.crs import CrsDialogue, CrsMessage
from models.scoring import CoMentionConfig, CoMentionScorer, ScoringContext

REPO_ROOT = Path(__file__).resolve().parents[3]


def _toy(n_items: int = 6) -> tuple[list[str], list[CrsDialogue]]:
    ids = [f"m{i}" for i in range(n_items)]

    def dialogue(i: int, liked: str, suggested: str, text: str) -> CrsDialogue:
        return CrsDialogue(
            str(i),
            (
                CrsMessage("seeker", f"{text} {liked}", (liked,)),
                CrsMessage("recommender", suggested, (suggested,), (suggested,)),
            ),
        )

    train = [dialogue(i, "m0", "m1", "spooky") for i in range(3)]
    train += [dialogue(9, "m2", "m3", "funny"), dialogue(10, "m4", "m3", "funny")]
    return ids, train


def test_scorer_learns_co_mentions_words_and_popularity() -> None:
    ids, train = _toy()
    scorer = CoMentionScorer(ids, {"m1": {"e:x"}, "m5": {"e:x"}}).fit(train)
    pop = scorer.scores([])
    assert int(np.argmax(pop)) == ids.index("m1")  # suggested three times
    by_context = scorer.scores(["m2"])
    assert int(np.argmax(by_context)) == ids.index("m3")  # co-mentioned with m2
    # w_self: the context item itself ("suggest again"), off by default
    echo = CoMentionScorer(ids, config=CoMentionConfig(w_self=10.0)).fit(train)
    assert int(np.argmax(echo.scores(["m2"]))) == ids.index("m2")
    by_words = CoMentionScorer(ids, config=CoMentionConfig(w_pop=0, w_co=0, w_text=0, w_word=1))
    by_words.fit(train)
    assert int(np.argmax(by_words.scores([], "something funny please"))) == ids.index("m3")
    # the KG: m5 shares entity e:x with m1, m0 shares nothing with m1
    kg_only = CoMentionConfig(w_pop=0, w_co=0, w_text=0, w_kg=1)
    s = CoMentionScorer(ids, {"m1": {"e:x"}, "m5": {"e:x"}}, kg_only).fit(train).scores(["m1"])
    assert s[ids.index("m5")] > s[ids.index("m0")]
    # the pipeline's call: entity ids are context; unknown items score below every known one
    vector = scorer.catalog_scores(ScoringContext(entity_ids=("m2",)))
    out = scorer.scores_for(["m3", "zzz"], vector)
    assert out[0] > out[1] == pytest.approx(float(by_context.min()) - 1.0)


def test_scorer_two_step_co_mentions_reach_past_the_context_co_mentions() -> None:
    """m2 and m4 are each named with m3, never together: ``co`` of m4 given m2 is 0, ``co2``
    (m2 -> m3 -> m4) is not, and the way back to m2 itself (m2 -> m3 -> m2) does not count."""
    ids, train = _toy()
    scorer = CoMentionScorer(ids).fit(train)
    terms = scorer.terms(["m2"], every=True)
    m2, m3, m4 = (ids.index(i) for i in ("m2", "m3", "m4"))
    assert terms["co"][m4] == 0.0 < terms["co"][m3]
    assert terms["co2"][m4] > 0.0 == terms["co2"][m2] == terms["co2"][ids.index("m1")]
    assert "co2" not in scorer.terms(["m2"])  # weighted 0 by default: fed to the trees only
    hop = CoMentionScorer(ids, config=CoMentionConfig(w_pop=0, w_co=0, w_kg=0, w_co2=1))
    assert int(np.argmax(hop.fit(train).scores(["m2"]))) == m4


_FIT_IN_A_PROCESS = """
import json, sys
import numpy as np
from models.crs import CrsDialogue, CrsMessage
from models.scoring import CoMentionScorer
ids = [f"m{i}" for i in range(6)]
ents = {f"m{i}": {f"e:{w}" for w in ("cast", "crew", "genre", "studio", "year")[: i + 1]}
        for i in range(6)}
train = [CrsDialogue(str(n), (
    CrsMessage("seeker", "spooky slow burn haunted house ghosts please", (f"m{n % 3}",)),
    CrsMessage("recommender", "try", (f"m{3 + n % 3}",), (f"m{3 + n % 3}",)),
)) for n in range(6)]
scorer = CoMentionScorer(ids, ents).fit(train)
terms = scorer.terms(["m0", "m1"], "haunted ghosts", every=True)
json.dump({"vocab": list(scorer._vocab), "entities": list(scorer._entity_index),
           "terms": {k: v.tolist() for k, v in sorted(terms.items())}}, sys.stdout)
"""


def test_scorer_fit_is_the_same_whatever_the_string_hash_seed() -> None:
    """Python salts string hashes per process, so iterating a set of words or entities gives
    another order in every run; the scorer's vocabulary, entity columns and (so) the float
    sums of its terms must not follow it, or a benchmark prints other figures each run."""
    import subprocess

    outs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", _FIT_IN_A_PROCESS],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            check=True,
        )
        outs.append(json.loads(done.stdout))
    assert outs[0]["vocab"] and outs[0]["entities"]
    assert outs[0] == outs[1]


def test_scorer_text_embedding_terms_and_their_weighted_sum() -> None:
    """``title``: similarity of the items' vectors to the context items' (not to itself);
    ``query``: similarity to the encoded conversation, encoded once for repeated calls;
    ``scores`` is the weighted sum of ``terms``."""
    ids, train = _toy()
    vectors = np.zeros((len(ids), 3))
    vectors[:, 2] = 1.0
    vectors[ids.index("m0"), :] = (1.0, 0.0, 0.0)
    vectors[ids.index("m4"), :] = (2.0, 0.0, 0.0)  # rows are normalised by the scorer
    vectors[ids.index("m5"), :] = (0.0, 1.0, 0.0)
    calls: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.extend(texts)
        return np.array([[0.0, 5.0, 0.0] if "ghost" in t else [0.0, 0.0, 1.0] for t in texts])

    cfg = CoMentionConfig(w_pop=0, w_co=0, w_kg=0, w_text=0, w_seq=0, w_title=1, w_query=1)
    scorer = CoMentionScorer(ids, config=cfg, item_vectors=vectors, encode_text=encode)
    scorer.fit(train)
    by_title = scorer.scores(["m0"])
    assert int(np.argmax(by_title)) == ids.index("m4")  # same direction as m0, m0 itself 0
    assert by_title[ids.index("m0")] == 0.0
    by_query = scorer.scores([], "a ghost story")
    assert int(np.argmax(by_query)) == ids.index("m5")
    assert calls == ["a ghost story"]  # encoded once for both text terms
    terms = scorer.terms(["m0", "m2"], "a ghost story", every=True)
    assert {"pop", "co", "seq", "kg", "self", "title", "query"} <= set(terms)
    weighted = sum(getattr(cfg, f"w_{n}") * t for n, t in terms.items())
    np.testing.assert_allclose(scorer.scores(["m0", "m2"], "a ghost story"), weighted)
    with pytest.raises(ValueError, match="rows"):
        CoMentionScorer(ids, item_vectors=vectors[:2])


def test_scorer_near_term_lets_similar_training_conversations_vote() -> None:
    """Training: "spooky ..." was followed by m1 three times, "funny ..." by m3 twice. A new
    conversation that reads like the funny ones gets m3; the encoder sees every training
    conversation once, at fit."""
    ids, train = _toy()
    encoded: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return np.array([[t.count("spooky"), t.count("funny"), 0.1] for t in texts], float)

    cfg = CoMentionConfig(w_pop=0, w_co=0, w_kg=0, w_text=0, w_seq=0, w_near=1)
    scorer = CoMentionScorer(ids, config=cfg, encode_text=encode).fit(train)
    assert sorted(encoded) == sorted(d.messages[0].text for d in train)
    near = scorer.terms([], "anything funny?")["near"]
    assert int(np.argmax(near)) == ids.index("m3") and near.max() == 1.0
    assert int(np.argmax(scorer.scores([], "so spooky"))) == ids.index("m1")
    # without an encoder, or with the weight 0, nothing is encoded and the term is absent
    plain = CoMentionScorer(ids, config=CoMentionConfig(w_near=1)).fit(train)
    assert "near" not in plain.terms([], "funny", every=True)


def test_scorer_scores_afresh_after_a_refit() -> None:
    """No scores are kept between calls: fit() on other dialogues changes the next answer."""
    ids, train = _toy()
    scorer = CoMentionScorer(ids).fit(train)
    before = scorer.catalog_scores(ScoringContext(liked_item_ids=("m2",)))
    scorer.fit(train[:1])  # only "m0 -> m1" left: m3 is no longer co-mentioned with m2
    after = scorer.catalog_scores(ScoringContext(liked_item_ids=("m2",)))
    assert after[ids.index("m3")] < before[ids.index("m3")]


def test_scorer_top_k_ranks_for_the_context_and_leaves_out_what_it_is_told() -> None:
    ids, train = _toy()
    scorer = CoMentionScorer(ids).fit(train)
    vector = scorer.catalog_scores(ScoringContext(liked_item_ids=("m2",)))
    top = scorer.top_k(vector, 2, exclude_item_ids=["m1", "m2"])
    assert [i for i, _ in top][0] == "m3" and "m2" not in dict(top) and "m1" not in dict(top)
    again = CoMentionScorer(ids, config=CoMentionConfig(w_self=10.0)).fit(train)
    echo = again.catalog_scores(ScoringContext(liked_item_ids=("m2",)))
    assert again.top_k(echo, 1)[0][0] == "m2"  # w_self: suggest again
    plain = scorer.catalog_scores(ScoringContext())
    everything = scorer.top_k(plain, 100, exclude_item_ids=["m0"])
    assert len(everything) == len(ids) - 1 and "m0" not in dict(everything)
    assert [s for _, s in everything] == sorted((s for _, s in everything), reverse=True)


def test_prior_counts_add_to_popularity() -> None:
    ids, train = _toy()
    plain = CoMentionScorer(ids).fit(train).scores([])
    boosted = CoMentionScorer(ids, prior_counts={"m5": 50.0, "unknown": 9.0}).fit(train)
    assert int(np.argmax(boosted.scores([]))) == ids.index("m5") != int(np.argmax(plain))


def test_off_terms_are_never_computed_and_survive_a_save(tmp_path: Path) -> None:
    """The ablation ``bench.crs_curve`` runs: a scorer without the KG terms computes none of
    them, not even for the weight search and the re-ranker (``every``), whatever their
    weights; the setting is saved with the scorer, and a name that is no term is refused."""
    from models.scoring import load_scorer
    from models.scoring.comention_config import KG_TERMS

    ids, train = _toy()
    kg = {"m1": {"e:x"}, "m5": {"e:x"}}
    full = CoMentionScorer(ids, kg).fit(train)
    assert set(KG_TERMS) & set(full.terms(["m1", "e:x"], "spooky", every=True))
    config = CoMentionConfig(w_kg=5.0, w_entity=5.0, w_text=5.0, off_terms=KG_TERMS)
    without = CoMentionScorer(ids, kg, config).fit(train)
    terms = without.terms(["m1", "e:x"], "spooky", every=True)
    assert not set(KG_TERMS) & set(terms) and {"pop", "co"} <= set(terms)
    # whatever their weights, they add nothing: the same scores as with them weighted 0
    zero = CoMentionConfig(w_kg=0.0, w_entity=0.0, w_text=0.0)
    unweighted = CoMentionScorer(ids, kg, zero).fit(train)
    for context in (["m1"], ["m1", "e:x"]):
        np.testing.assert_array_equal(
            without.scores(context, "spooky"), unweighted.scores(context, "spooky")
        )
    assert not np.array_equal(full.scores(["m1"]), unweighted.scores(["m1"]))  # the KG counts
    loaded = load_scorer(without.save(tmp_path / without.version))
    assert isinstance(loaded, CoMentionScorer) and loaded.config.off_terms == KG_TERMS
    np.testing.assert_array_equal(loaded.scores(["m1"], "spooky"), without.scores(["m1"], "spooky"))
    with pytest.raises(ValueError, match="unknown term"):
        CoMentionConfig(off_terms=("graph",))
